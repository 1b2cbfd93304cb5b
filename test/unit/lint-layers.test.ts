// The layering rules of eslint.config.js fire: a deep import into the engine from a service, the CLI or
// a tool; the engine importing a service or the store; the store importing the engine. The front door
// ('…/engine') and, for tools, '…/engine/kernels' pass.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function restricted(code: string, filePath: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath });
  return r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint', () => {
  it('forbids deep imports into the engine from outside it', async () => {
    expect(await restricted("import { GpuBackend } from '../engine/arch/gpu';\nexport const x = GpuBackend;\n", 'src/main/services/x.ts')).toEqual([expect.stringMatching(/front door/)]);
    expect(await restricted("import { openBackend } from '../engine/backend';\nexport const x = openBackend;\n", 'src/main/cli/x.ts')).toEqual([expect.stringMatching(/front door/)]);
    expect(await restricted("import { gemv } from '../../src/main/engine/ops/gemv';\nexport const x = gemv;\n", 'tools/bench/x.ts')).toEqual([expect.stringMatching(/front door/)]);
  });

  it('lets the front door and the kernels entry through', async () => {
    expect(await restricted("import { openEngine } from '../engine';\nexport const x = openEngine;\n", 'src/main/services/x.ts')).toEqual([]);
    expect(await restricted("import { gemv } from '../../src/main/engine/kernels';\nexport const x = gemv;\n", 'tools/bench/x.ts')).toEqual([]);
    expect(await restricted("import { gemv } from '../engine/kernels';\nexport const x = gemv;\n", 'src/main/services/x.ts')).toEqual([expect.stringMatching(/front door/)]);
  });

  it('keeps the engine below the services and the store away from the engine', async () => {
    expect(await restricted("import { RunStore } from '../../store';\nexport const x = RunStore;\n", 'src/main/engine/arch/x.ts')).toEqual([expect.stringMatching(/below the services/)]);
    expect(await restricted("import { ChatService } from '../services/chat';\nexport const x = ChatService;\n", 'src/main/engine/x.ts')).toEqual([expect.stringMatching(/below the services/)]);
    expect(await restricted("import { openEngine } from '../engine';\nexport const x = openEngine;\n", 'src/main/store/x.ts')).toEqual([expect.stringMatching(/does not run models/)]);
  });
});
