// Decoders for the two binary containers the corpus text arrives in: R lazy-load databases
// (janeaustenr) and SWORD zText modules (the World English Bible). Only what these two files use
// is decoded; anything else is reported rather than guessed.

import { inflateSync } from 'node:zlib';

/**
 * R lazy-load database (`.rdb`): back-to-back records of [u32 BE uncompressed length][zlib stream],
 * each an R serialization (format "X\n", version 3) of one object. janeaustenr stores each novel as
 * a character vector (STRSXP) of text lines; returns those vectors in file order.
 */
export function readRLazyLoadStrings(buf) {
  const vectors = [];
  let off = 0;
  while (off < buf.length) {
    const expected = buf.readUInt32BE(off);
    const res = inflateSync(buf.subarray(off + 4), { info: true });
    const data = res.buffer;
    if (data.length !== expected) {
      throw new Error(`R database record at byte ${off}: inflated ${data.length} bytes, header says ${expected}`);
    }
    vectors.push(decodeRStringVector(data));
    // bytesWritten counts the compressed bytes the inflater consumed, i.e. this record's length.
    off += 4 + res.engine.bytesWritten;
  }
  return vectors;
}

const STRSXP = 16;
const CHARSXP = 9;

function decodeRStringVector(data) {
  if (data.toString('latin1', 0, 2) !== 'X\n') throw new Error('R serialization: not XDR format');
  let p = 2;
  const version = data.readInt32BE(p);
  p += 12; // version, writer R version, minimal reader R version
  if (version === 3) {
    const encLen = data.readInt32BE(p);
    p += 4 + encLen; // native encoding name
  }
  const flags = data.readInt32BE(p);
  p += 4;
  if ((flags & 0xff) !== STRSXP) throw new Error(`R serialization: expected a character vector, got type ${flags & 0xff}`);
  const n = data.readInt32BE(p);
  p += 4;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const f = data.readInt32BE(p);
    const len = data.readInt32BE(p + 4);
    p += 8;
    if ((f & 0xff) !== CHARSXP) throw new Error(`R serialization: element ${i} is not a string`);
    if (len < 0) {
      out[i] = ''; // NA_character_
      continue;
    }
    out[i] = data.toString('utf8', p, p + len);
    p += len;
  }
  return out;
}

/**
 * SWORD zText with BlockType=BOOK: `.bzs` holds 12-byte block records [offset, compressed size,
 * uncompressed size] (u32 LE) into `.bzz`, each block a zlib stream of OSIS-marked verses.
 * Returns the concatenated OSIS text of all blocks, in order.
 */
export function readSwordZText(bzs, bzz) {
  let text = '';
  for (let i = 0; i + 12 <= bzs.length; i += 12) {
    const off = bzs.readUInt32LE(i);
    const size = bzs.readUInt32LE(i + 4);
    if (size === 0) continue;
    text += inflateSync(bzz.subarray(off, off + size)).toString('utf8');
  }
  return text;
}

/**
 * OSIS to plain paragraphs, split into books. Footnotes are dropped with their content; titles become their own paragraph; paragraph-end milestones become paragraph breaks.
 * Returns [{ book, text }] with blank-line-separated paragraphs.
 */
export function osisBooks(osis) {
  const parts = osis.split(/<div\b[^>]*\bosisID="([^"]+)"[^>]*\bsID="[^"]*"[^>]*\btype="book"[^>]*\/>/);
  const books = [];
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const text = parts[i + 1]
      // A footnote often sits where the space between two words was: leave a space behind.
      .replace(/<note\b[^>]*>[\s\S]*?<\/note>/g, ' ')
      .replace(/<title\b[^>]*>([\s\S]*?)<\/title>/g, '\n\n$1\n\n')
      .replace(/<div\b[^>]*\beID="[^"]*"[^>]*type="x-p"[^>]*\/>/g, '\n\n')
      .replace(/<(?:lb|l)\b[^>]*\/>/g, '\n')
      .replace(/<chapter\b[^>]*\bsID="[^"]*"[^>]*\/>/g, '\n\n')
      .replace(/<[^>]+>/g, '')
      .replace(/ +([,.;:!?])/g, '$1')
      .replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'");
    books.push({ book: parts[i], text });
  }
  return books;
}
