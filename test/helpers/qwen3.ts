// The real Qwen3 tokenizer fixture is stored gzipped (11 MB → 2 MB) so the tracked tree plus the GPU
// bundle stays under the 64 MiB that can travel to a GPU machine. This unpacks it once per test file into
// a temporary folder that looks like a checkpoint's tokenizer files (removed when the file ends).
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { tempDir } from './tmp';

const SRC = join(__dirname, '../fixtures/tokenizer/qwen3');
let dir: string | null = null;

/** A folder holding Qwen3's tokenizer.json and tokenizer_config.json. */
export function qwen3TokenizerDir(): string {
  if (dir && existsSync(join(dir, 'tokenizer.json'))) return dir;
  dir = tempDir('qwen3-tokenizer-');
  writeFileSync(join(dir, 'tokenizer.json'), gunzipSync(readFileSync(join(SRC, 'tokenizer.json.gz'))));
  copyFileSync(join(SRC, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}
