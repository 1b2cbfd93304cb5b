// A text file as the token stream eval_ppl.py scores: documents separated by `<|endoftext|>` (alone on
// its line, as tools/corpus/build.mjs writes .corpus/valid.txt), each encoded without special tokens
// and preceded by the end-of-text id: [EOT] doc [EOT] doc …
import { InvalidRequestError } from '../../../shared/errors';
import type { TextTokenizer } from '../tokenizer';

const EOT_TEXT = '<|endoftext|>';
const SEPARATOR = `\n${EOT_TEXT}\n`;

/** Documents of a corpus file: split at the separator, surrounding newlines trimmed, empty ones dropped. */
export function splitDocuments(text: string): string[] {
  return text
    .split(SEPARATOR)
    .filter((d) => d.trim() !== '')
    .map((d) => d.replace(/^\n+|\n+$/g, ''));
}

export function encodeDocumentStream(tok: TextTokenizer, text: string, eosTokenIds: readonly number[]): number[] {
  const eot = tok.tokenToId(EOT_TEXT) ?? eosTokenIds[0];
  if (eot === undefined) throw new InvalidRequestError(`the tokenizer has no ${EOT_TEXT} token and the checkpoint names no eos id, so documents cannot be separated; pass token ids with --ids-file instead`);
  const out: number[] = [];
  for (const doc of splitDocuments(text)) {
    out.push(eot);
    for (const id of tok.encode(doc, { addSpecialTokens: false })) out.push(id);
  }
  return out;
}
