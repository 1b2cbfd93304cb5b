// `logits --model DIR --ids 1,2,3 [--backend gpu|cpu] [--dtype f16|f32] [--json]`: the logits of every
// position from one prefill. --json prints {"logits": [[…vocab…], …]}, one row per position; otherwise
// the five most likely next tokens per position.
import { InvalidRequestError } from '../../shared/errors';
import type { CliCommand } from './command';
import { ENGINE_OPTIONS, idsFlag, openFromFlags, parseFlags } from './generate';

const USAGE = 'logits --model DIR --ids 1,2,3 [--backend gpu|cpu] [--dtype f16|f32] [--ctx N] [--json]';

function top(row: Float32Array, k: number): number[] {
  return Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, k);
}

export const logitsCommand: CliCommand = {
  summary: 'logits of every position of a list of token ids (one prefill)',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags('logits', USAGE, argv, { ...ENGINE_OPTIONS, json: { type: 'boolean', default: false }, ids: { type: 'string' } });
    if (typeof f.ids !== 'string') throw new InvalidRequestError(`logits needs --ids 1,2,3; usage: ${USAGE}`);
    const ids = idsFlag(f.ids);
    const json = f.json === true;
    const engine = await openFromFlags('logits', f, json);
    try {
      const rows = await engine.logits(ids);
      if (json) {
        process.stdout.write(`{"logits":[${rows.map((r) => `[${Array.from(r).join(',')}]`).join(',')}]}\n`);
        return 0;
      }
      const name = (id: number) => (engine.tokenizer ? JSON.stringify(engine.decode([id])) : String(id));
      rows.forEach((r, i) => {
        const best = top(r, 5).map((id) => `${name(id)} ${r[id].toFixed(3)}`).join('  ');
        process.stdout.write(`${String(i).padStart(4)} ${name(ids[i]).padEnd(12)} → ${best}\n`);
      });
      return 0;
    } finally {
      engine.dispose();
    }
  },
};
