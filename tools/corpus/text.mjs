// Text clean-up shared by every corpus source: one place decides what "plain English prose" means
// for the zoo, so all sources end up in the same register of characters and whitespace.

import { createHash } from 'node:crypto';

// Typographic punctuation is folded to ASCII: the 4096-entry vocabulary should spend its merges on
// words, not on two spellings of every quote mark. The em dash is kept (it is a real word boundary).
const FOLD = new Map([
  ['\u2018', "'"], ['\u2019', "'"], ['\u201a', "'"], ['\u201b', "'"],
  ['\u201c', '"'], ['\u201d', '"'], ['\u201e', '"'], ['\u201f', '"'],
  ['\u2013', '-'], ['\u2026', '...'], ['\u00a0', ' '], ['\ufeff', ''],
]);

/** NFC-normalise, fold typographic punctuation, drop control characters except newlines. */
export function normaliseChars(s) {
  let out = '';
  for (const ch of s.normalize('NFC')) {
    const f = FOLD.get(ch);
    if (f !== undefined) out += f;
    else if (ch === '\n' || ch >= ' ') out += ch;
    else if (ch === '\t' || ch === '\r') out += ch === '\t' ? ' ' : '';
  }
  return out;
}

/**
 * Split text into paragraphs at blank lines and re-flow each paragraph onto one line
 * (hard-wrapped novels become one line per paragraph; whitespace runs become one space).
 */
export function paragraphs(s) {
  return normaliseChars(s)
    .split(/\n[ \t]*\n+/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0);
}

export function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

// Paragraphs shorter than this (chapter headings, "Thank you.") may legitimately recur and carry
// document structure; only longer repeats are treated as duplicated text.
const DEDUP_MIN_CHARS = 24;

/**
 * Remove repeated paragraphs across the whole corpus, keeping the first occurrence in document
 * order. Returns the documents with their surviving paragraphs and the number dropped.
 */
export function dedupParagraphs(docs) {
  const seen = new Set();
  let dropped = 0;
  const out = [];
  for (const doc of docs) {
    const kept = [];
    for (const p of doc.paragraphs) {
      if (p.length >= DEDUP_MIN_CHARS) {
        const key = p.toLowerCase();
        if (seen.has(key)) {
          dropped += 1;
          continue;
        }
        seen.add(key);
      }
      kept.push(p);
    }
    if (kept.length > 0) out.push({ ...doc, paragraphs: kept });
  }
  return { docs: out, dropped };
}

/**
 * Deterministic split by document: within each source, documents are ordered by the sha256 of
 * their id and the first ones go to validation until `fraction` of that source's characters is
 * reached (at least one document per source), so every source is represented in both files.
 */
export function splitByDocument(docs, fraction) {
  const bySource = new Map();
  for (const d of docs) {
    if (!bySource.has(d.source)) bySource.set(d.source, []);
    bySource.get(d.source).push(d);
  }
  const valid = new Set();
  for (const list of bySource.values()) {
    const total = list.reduce((n, d) => n + docChars(d), 0);
    const ordered = [...list].sort((a, b) => (sha256(a.id) < sha256(b.id) ? -1 : 1));
    let taken = 0;
    for (const d of ordered) {
      valid.add(d.id);
      taken += docChars(d);
      if (taken >= fraction * total) break;
    }
  }
  return {
    train: docs.filter((d) => !valid.has(d.id)),
    valid: docs.filter((d) => valid.has(d.id)),
  };
}

export function docChars(d) {
  return d.paragraphs.reduce((n, p) => n + p.length + 2, 0);
}
