// Progress on stderr. On a terminal one line is rewritten in place (`\r`), every 10 %; anywhere else (a
// pipe, a log file, CI) each update is a line of its own, every 25 %, so logs read `loading 25%` line by
// line instead of `loading 40%\rloading 70%\r…` glued together.
import { stderrIsTTY } from './dawn-noise';

export interface ProgressOptions {
  /** Default: whether the user's stderr is a terminal. */
  tty?: boolean;
  /** Default: process.stderr. */
  write?: (s: string) => void;
}

/**
 * A progress reporter: call it with (done, total); it prints `text(done, total)` when the percentage
 * enters a new step (10 % on a terminal, 25 % otherwise) and always once at the end, ending the line.
 */
export function progress(text: (done: number, total: number) => string, opts: ProgressOptions = {}): (done: number, total: number) => void {
  const tty = opts.tty ?? stderrIsTTY();
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  const step = tty ? 10 : 25;
  let lastStep = -1;
  let finished = false;
  return (done, total) => {
    if (finished || total <= 0) return;
    const end = done >= total;
    const at = Math.floor((100 * Math.min(done, total)) / total / step);
    if (!end && at === lastStep) return;
    if (!end && !tty && at === 0) return; // a log needs no "0 %" line
    lastStep = at;
    finished = end;
    write(`${text(done, total)}${tty && !end ? '\r' : '\n'}`);
  };
}

/** `loading N%` for a checkpoint upload. */
export function loadingProgress(opts: ProgressOptions = {}): (p: { done: number; total: number }) => void {
  const report = progress((d, t) => `loading ${Math.floor((100 * d) / t)}%`, opts);
  return (p) => report(p.done, p.total);
}
