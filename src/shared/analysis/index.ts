// The analysis math and data model: pure TS, shared by the engine services, the CLI and the renderer.
export * from './types';
export * from './divergence';
export * from './cluster';
export * from './mds';
export * from './grouping';
export * from './spectrum';
