// The CLI's command table. Each command is a module in this folder; add it here.
import type { CliCommand } from './command';
import { inspectCommand } from './inspect';

export const commands: Record<string, CliCommand> = {
  inspect: inspectCommand,
};
