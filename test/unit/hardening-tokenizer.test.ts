// Issue 15, item 3 at the tokenizer: decoding no ids is the empty string (the library throws on []),
// for the plain decode, the streaming decoder and the chat's TextStream, with and without a tokenizer.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../src/main/engine';
import { TextStream } from '../../src/main/services/prompt';
import { tmpDir } from '../helpers/checkpoint';
import { writeByteTokenizer } from '../helpers/services';

const ZOO_GTA = fileURLToPath(new URL('../../models/zoo-gta-2.8m', import.meta.url));

describe('decoding no token ids', () => {
  it('gives the empty string for the bundled GTA tokenizer and a byte-level one', async () => {
    const dir = tmpDir();
    writeByteTokenizer(dir);
    for (const path of [ZOO_GTA, dir]) {
      const tok = (await loadTokenizer(path)).tokenizer!;
      expect(tok.decode([])).toBe('');
      expect(tok.decode([], { skipSpecialTokens: true })).toBe('');
      const stream = tok.streamDecoder();
      expect(stream.flush()).toBe('');
      expect(new TextStream(tok).text()).toBe('');
      // a reply that is only special tokens decodes to '' with them skipped, and the stream agrees
      const special = tok.stopTokenIds[0];
      const t = new TextStream(tok);
      t.push(special);
      expect(t.text()).toBe('');
    }
    expect(new TextStream(null).text()).toBe('');
  });
});
