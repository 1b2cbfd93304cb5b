// System information and the environment recorded with every run.
import { arch, platform, release } from 'node:os';
import type { AdapterInfo, RunEnvironment, SystemInfo } from '../../shared/api';
import { ENGINE_VERSION, probeAdapter } from '../engine';
import pkg from '../../../package.json';

export const APP_VERSION: string = pkg.version;

type Probe = { adapter: AdapterInfo | null; error?: string };

/** Probes the GPU once per process (about a second on lavapipe) and answers from the cache afterwards. */
export function createSystem(host: SystemInfo['host'], dataDir: string) {
  let probe: Promise<Probe> | null = null;
  const adapter = (): Promise<Probe> => (probe ??= probeAdapter());

  async function info(): Promise<SystemInfo> {
    const p = await adapter();
    const out: SystemInfo = {
      appVersion: APP_VERSION,
      engineVersion: ENGINE_VERSION,
      host,
      platform: `${platform()} ${arch()}`,
      node: process.versions.node,
      adapter: p.adapter,
      dataDir,
    };
    if (p.error) out.adapterError = p.error;
    return out;
  }

  async function environment(): Promise<RunEnvironment> {
    const { adapter: a } = await adapter();
    const env: RunEnvironment = {
      appVersion: APP_VERSION,
      engineVersion: ENGINE_VERSION,
      os: `${platform()} ${release()} ${arch()}`,
      node: process.versions.node,
    };
    if (a) {
      env.adapter = `${a.vendor} / ${a.device || a.description || 'unknown device'} (${a.backend}${a.isSoftware ? ', software' : ''})`;
      if (a.description) env.driver = a.description;
    }
    return env;
  }

  return { info, environment };
}

export type System = ReturnType<typeof createSystem>;
