// Request validation: every method accepts a well-formed request and names the field of a bad one.
import { describe, expect, it } from 'vitest';
import { METHOD_NAMES } from '../../src/shared/api';
import { InvalidRequestError } from '../../src/shared/errors';
import { isSafeExternalUrl, validateRequest, validators } from '../../src/shared/validate';

const ID = '0b7c9a52-3a51-4c5e-9d0a-1f2e3d4c5b6a';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return (err as InvalidRequestError).details?.field as string;
  }
  throw new Error('expected InvalidRequestError');
}

describe('validate', () => {
  it('has exactly one validator per method', () => {
    expect(Object.keys(validators).sort()).toEqual([...METHOD_NAMES].sort());
  });

  it('accepts well-formed requests and normalises them', () => {
    expect(validateRequest('systemInfo', undefined)).toEqual({});
    expect(validateRequest('listRuns', { kind: 'bench', status: 'running', tag: ' a ', search: '', sort: 'title', order: 'asc', limit: 500, offset: 0 })).toEqual({
      kind: 'bench', status: 'running', tag: 'a', search: '', sort: 'title', order: 'asc', limit: 500, offset: 0,
    });
    expect(validateRequest('createRun', { kind: 'chat', title: '  hello ', model: null, params: { t: 0.7 }, tags: ['x'] })).toEqual({ kind: 'chat', title: 'hello', model: null, params: { t: 0.7 }, tags: ['x'] });
    expect(validateRequest('finishRun', { id: ID, status: 'failed', error: 'oom' })).toEqual({ id: ID, status: 'failed', error: 'oom' });
    expect(validateRequest('addMetrics', { id: ID, samples: [{ name: 'a', step: 1.5, value: -2, unit: 'ms' }] }).samples).toHaveLength(1);
    expect(validateRequest('tagRun', { id: ID, add: ['a'], remove: [] })).toEqual({ id: ID, add: ['a'], remove: [] });
    expect(validateRequest('deleteRun', { id: ID })).toEqual({ id: ID });
    expect(validateRequest('openExternal', { url: 'https://arxiv.org/abs/2506.01234' }).url).toBe('https://arxiv.org/abs/2506.01234');
  });

  it('names the bad field', () => {
    expect(fieldOf(() => validateRequest('systemInfo', { x: 1 }))).toBe('x');
    expect(fieldOf(() => validateRequest('listRuns', { limit: 501 }))).toBe('limit');
    expect(fieldOf(() => validateRequest('listRuns', { limit: 1.5 }))).toBe('limit');
    expect(fieldOf(() => validateRequest('listRuns', { offset: -1 }))).toBe('offset');
    expect(fieldOf(() => validateRequest('listRuns', { sort: 'id' }))).toBe('sort');
    expect(fieldOf(() => validateRequest('listRuns', { status: 'done' }))).toBe('status');
    expect(fieldOf(() => validateRequest('getRun', {}))).toBe('id');
    expect(fieldOf(() => validateRequest('getRun', { id: '../../etc' }))).toBe('id');
    expect(fieldOf(() => validateRequest('createRun', { kind: 'chat', title: '   ' }))).toBe('title');
    expect(fieldOf(() => validateRequest('createRun', { kind: 'train', title: 'x' }))).toBe('kind');
    expect(fieldOf(() => validateRequest('createRun', { kind: 'chat', title: 'x', params: [1] }))).toBe('params');
    expect(fieldOf(() => validateRequest('createRun', { kind: 'chat', title: 'x', tags: ['ok', 3] }))).toBe('tags[1]');
    expect(fieldOf(() => validateRequest('createRun', { kind: 'chat', title: 'x', titel: 'typo' }))).toBe('titel');
    expect(fieldOf(() => validateRequest('finishRun', { id: ID, status: 'running' }))).toBe('status');
    expect(fieldOf(() => validateRequest('addMetrics', { id: ID, samples: {} }))).toBe('samples');
    expect(fieldOf(() => validateRequest('addMetrics', { id: ID, samples: [{ name: 'a', step: 0, value: Number.NaN }] }))).toBe('samples[0].value');
    expect(fieldOf(() => validateRequest('addMetrics', { id: ID, samples: [{ name: 'a', step: 0, value: 1, at: 'x' }] }))).toBe('samples[0].at');
    expect(fieldOf(() => validateRequest('tagRun', { id: ID, add: 'a' }))).toBe('add');
    expect(fieldOf(() => validateRequest('openExternal', { url: 'javascript:alert(1)' }))).toBe('url');
    expect(fieldOf(() => validateRequest('openExternal', { url: 'file:///etc/passwd' }))).toBe('url');
    expect(fieldOf(() => validateRequest('openExternal', { url: 'https://user:pw@example.com/' }))).toBe('url');
    expect(fieldOf(() => validateRequest('openExternal', { url: 'not a url' }))).toBe('url');
  });

  it('checks chooseFolder: an optional, non-empty title and nothing else', () => {
    expect(validateRequest('chooseFolder', {})).toEqual({});
    expect(validateRequest('chooseFolder', undefined)).toEqual({});
    expect(validateRequest('chooseFolder', { title: '  Pick a checkpoint ' })).toEqual({ title: 'Pick a checkpoint' });
    expect(fieldOf(() => validateRequest('chooseFolder', { title: 3 }))).toBe('title');
    expect(fieldOf(() => validateRequest('chooseFolder', { title: ' ' }))).toBe('title');
    expect(fieldOf(() => validateRequest('chooseFolder', { title: 'x'.repeat(501) }))).toBe('title');
    expect(fieldOf(() => validateRequest('chooseFolder', { defaultPath: '/etc' }))).toBe('defaultPath');
    expect(() => validateRequest('chooseFolder', [])).toThrow(InvalidRequestError);
  });

  it('rejects non-objects and unknown methods', () => {
    expect(() => validateRequest('getRun', null)).toThrow(/getRun: "params" must be a JSON object/);
    expect(() => validateRequest('getRun', [ID])).toThrow(InvalidRequestError);
    expect(() => validateRequest('eval' as never, {})).toThrow(/Unknown method "eval"/);
    expect(() => validateRequest('constructor' as never, {})).toThrow(InvalidRequestError);
  });

  it('checks external URLs', () => {
    expect(isSafeExternalUrl('http://example.com')).toBe(true);
    expect(isSafeExternalUrl('mailto:a@b.c')).toBe(false);
  });
});
