// Validation of the model, chat, export and bench methods: well-formed requests pass normalised, and a
// bad one names its field.
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/shared/errors';
import { validateRequest } from '../../src/shared/validate';

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

describe('validate: models, chat, export, bench', () => {
  it('accepts well-formed requests', () => {
    expect(validateRequest('listModels', undefined)).toEqual({});
    expect(validateRequest('validateModelFolder', { path: ' /m/x ' })).toEqual({ path: '/m/x' });
    expect(validateRequest('addModelFolder', { path: '/m/x', name: ' X ' })).toEqual({ path: '/m/x', name: 'X' });
    expect(validateRequest('loadModel', { modelId: 'gta-tiny', nCtx: 512, dtype: 'f32', backend: 'cpu', taskId: ID })).toEqual({ modelId: 'gta-tiny', nCtx: 512, dtype: 'f32', backend: 'cpu', taskId: ID });
    expect(validateRequest('removeModelFolder', { id: ID })).toEqual({ id: ID });
    expect(validateRequest('createConversation', undefined)).toEqual({});
    expect(validateRequest('createConversation', { title: ' t ', modelId: null, systemPrompt: '' })).toEqual({ title: 't', modelId: null, systemPrompt: '' });
    expect(validateRequest('sendMessage', { conversationId: ID, text: 'hi', mode: 'chat', sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1.1, maxTokens: 8, seed: 4294967295 } })).toEqual({
      conversationId: ID, text: 'hi', mode: 'chat', sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1.1, maxTokens: 8, seed: 4294967295 },
    });
    expect(validateRequest('sendMessage', { conversationId: ID, tokenIds: [0, 5] })).toEqual({ conversationId: ID, tokenIds: [0, 5] });
    expect(validateRequest('editAndResend', { messageId: ID, text: 'x', taskId: ID })).toEqual({ messageId: ID, text: 'x', taskId: ID });
    expect(validateRequest('regenerate', { conversationId: ID })).toEqual({ conversationId: ID });
    expect(validateRequest('contextUsage', { conversationId: ID, draft: { text: '' } })).toEqual({ conversationId: ID, draft: { text: '' } });
    expect(validateRequest('exportRuns', { ids: [ID, ID], format: 'csv' })).toEqual({ ids: [ID], format: 'csv' });
    expect(validateRequest('cancelTask', { taskId: ID })).toEqual({ taskId: ID });
    expect(validateRequest('startBench', { modelId: 'm', prefillLengths: [128, 512], contexts: [0, 2048], repetitions: 3, decodeSteps: 16 })).toEqual({
      modelId: 'm', prefillLengths: [128, 512], contexts: [0, 2048], repetitions: 3, decodeSteps: 16,
    });
  });

  it('names the bad field', () => {
    expect(fieldOf(() => validateRequest('loadModel', { modelId: '../etc' }))).toBe('modelId');
    expect(fieldOf(() => validateRequest('loadModel', { modelId: 'm', nCtx: 0 }))).toBe('nCtx');
    expect(fieldOf(() => validateRequest('loadModel', { modelId: 'm', taskId: 'abc' }))).toBe('taskId');
    expect(fieldOf(() => validateRequest('validateModelFolder', { path: '' }))).toBe('path');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID }))).toBe('text');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID, text: 'a', tokenIds: [1] }))).toBe('tokenIds');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID, tokenIds: [1.5] }))).toBe('tokenIds[0]');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID, text: 'a', sampling: { topP: 0 } }))).toBe('sampling.topP');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID, text: 'a', sampling: { temperature: -1 } }))).toBe('sampling.temperature');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID, text: 'a', sampling: { seed: 2 ** 32 } }))).toBe('sampling.seed');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID, text: 'a', sampling: { beam: 2 } }))).toBe('sampling.beam');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: ID, text: 'a', mode: 'instruct' }))).toBe('mode');
    expect(fieldOf(() => validateRequest('sendMessage', { conversationId: 'x', text: 'a' }))).toBe('conversationId');
    expect(fieldOf(() => validateRequest('exportRuns', { ids: [], format: 'csv' }))).toBe('ids');
    expect(fieldOf(() => validateRequest('exportRuns', { ids: [ID], format: 'xlsx' }))).toBe('format');
    expect(fieldOf(() => validateRequest('startBench', { modelId: 'm', prefillLengths: [], contexts: [0], repetitions: 1 }))).toBe('prefillLengths');
    expect(fieldOf(() => validateRequest('startBench', { modelId: 'm', prefillLengths: [8], contexts: [-1], repetitions: 1 }))).toBe('contexts[0]');
    expect(fieldOf(() => validateRequest('startBench', { modelId: 'm', prefillLengths: [8], contexts: [0], repetitions: 0 }))).toBe('repetitions');
    expect(fieldOf(() => validateRequest('unloadModel', { now: true }))).toBe('now');
  });
});
