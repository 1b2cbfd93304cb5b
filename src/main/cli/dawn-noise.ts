// Dawn prints two warnings of its own when it enumerates a Vulkan adapter whose dynamic-buffer limits
// exceed its internal tables (lavapipe reports 1,000,000):
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
//   Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
// They come from Dawn's native logger (fprintf to fd 2 in requestAdapter, Limits.cpp NormalizeLimits),
// before any device or limit request, so no toggle, requiredLimits or JS hook reaches them. The engine
// uses no dynamic offsets, so they say nothing to a user. The CLI entry (src/main/cli.ts) therefore runs
// GPU commands in a child process whose stderr passes through this filter; everything else goes through
// unchanged and at once (a partial line such as a `\r` progress update is not held back).
import { spawn } from 'node:child_process';

const NOISE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const NOISE_START = 'Warning: maxDynamic';

/** True for one of Dawn's limit-normalisation warnings (a whole line, without its newline). */
export function isDawnNoise(line: string): boolean {
  return NOISE.test(line);
}

/** A stateful filter: feed it chunks, it returns what to print now (Dawn's warning lines removed). */
export function dawnNoiseFilter(): { push(chunk: string): string; end(): string } {
  let held = ''; // the start of a line that may still turn out to be a warning
  return {
    push(chunk) {
      let s = held + chunk;
      held = '';
      let out = '';
      for (;;) {
        const nl = s.indexOf('\n');
        if (nl < 0) break;
        const line = s.slice(0, nl);
        if (!isDawnNoise(line)) out += `${line}\n`;
        s = s.slice(nl + 1);
      }
      // An unfinished line: hold it only while it could still be a warning (the start of one).
      const mayBeNoise = s.length > 0 && (NOISE_START.startsWith(s) || s.startsWith(NOISE_START)) && !s.includes('\r');
      if (mayBeNoise) held = s;
      else out += s;
      return out;
    },
    end() {
      const rest = held;
      held = '';
      return isDawnNoise(rest) ? '' : rest;
    },
  };
}

/** Set in the child so that it runs the command itself, and tells it whether the real stderr is a TTY. */
export const CHILD_ENV = 'WORKBENCH_CLI_CHILD';
export const STDERR_TTY_ENV = 'WORKBENCH_CLI_STDERR_TTY';

/** Whether the user's stderr is a terminal (the parent's, when this is the filtered child). */
export function stderrIsTTY(): boolean {
  const v = process.env[STDERR_TTY_ENV];
  if (v === '1') return true;
  if (v === '0') return false;
  return process.stderr.isTTY === true;
}

/**
 * Run `node <script> …args` with stdin and stdout inherited and stderr filtered; resolves to the exit
 * code (128 + signal number when the child was killed by a signal). SIGINT/SIGTERM reach the child.
 */
export function runFiltered(script: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
      stdio: ['inherit', 'inherit', 'pipe'],
      env: { ...process.env, [CHILD_ENV]: '1', [STDERR_TTY_ENV]: process.stderr.isTTY ? '1' : '0' },
    });
    const filter = dawnNoiseFilter();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const out = filter.push(chunk);
      if (out) process.stderr.write(out);
    });
    // Signals go on to the child (a terminal's Ctrl-C reaches both; a second SIGINT is harmless), and this
    // process waits for it to finish rather than dying first and losing the end of its stderr.
    const forward = (sig: NodeJS.Signals) => () => void child.kill(sig);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      const rest = filter.end();
      if (rest) process.stderr.write(rest);
      const signum = signal ? ({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9 } as Record<string, number>)[signal] ?? 1 : 0;
      resolve(code ?? 128 + signum);
    });
  });
}
