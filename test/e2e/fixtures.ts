// Model folders for the e2e tests, made in a temporary directory from the tiny golden checkpoints:
// a chat-capable one (byte-level tokenizer with a ChatML template, and a model card), and broken ones
// the way users break them (a truncated download, a config from another model, a lost tokenizer.json).
import { cpSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN, writeByteTokenizer } from '../helpers/services';

/** A temporary folder, removed when the test file ends (test/helpers/tmp.ts). */
export { tempDir } from '../helpers/tmp';

/** A card with Markdown to render and HTML that must come out as text. */
export const FIXTURE_CARD = [
  '# GTA tiny (test fixture)',
  '',
  'A **two-layer** GTA checkpoint with _random_ weights, for tests. Its KV cache holds `keys + latent`.',
  '',
  '- 64 hidden units',
  '- 256 positions',
  '',
  '<img src=x onerror="document.title=\'pwned\'"><script>document.title = "pwned"</script>',
].join('\n');

/** The golden GTA checkpoint with a byte-level tokenizer, chat template and card. */
export function chatModelFolder(root: string, name = 'gta-tiny-chat'): string {
  const dir = join(root, name);
  cpSync(join(GOLDEN, 'gta-mqa'), dir, { recursive: true });
  rmSync(join(dir, 'golden.json'));
  writeByteTokenizer(dir);
  writeFileSync(join(dir, 'card.md'), FIXTURE_CARD);
  return dir;
}

/** The weights file cut in half, as an interrupted download leaves it. */
export function truncatedFolder(root: string): string {
  const dir = chatModelFolder(root, 'truncated');
  const file = join(dir, 'model.safetensors');
  truncateSync(file, Math.floor(statSync(file).size / 2));
  return dir;
}

/** config.json says the MLP is wider than the weights are. */
export function wrongShapeFolder(root: string): string {
  const dir = chatModelFolder(root, 'wrong-shape');
  const file = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  config.intermediate_size = 128;
  writeFileSync(file, JSON.stringify(config, null, 2));
  return dir;
}

/** tokenizer_config.json kept, tokenizer.json lost. */
export function missingTokenizerFolder(root: string): string {
  const dir = chatModelFolder(root, 'no-tokenizer');
  rmSync(join(dir, 'tokenizer.json'));
  return dir;
}
