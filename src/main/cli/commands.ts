// The CLI's command table. Each command is a module in this folder; add it here.
import { analysisBenchCommand } from './analysis-bench';
import { analyzeCommand, attentionCommand, headSimilarityCommand } from './analysis';
import { benchCommand } from './bench';
import type { CliCommand } from './command';
import { generateCommand } from './generate';
import { inspectCommand } from './inspect';
import { logitsCommand } from './logits';
import { perplexityCommand } from './perplexity';

export const commands: Record<string, CliCommand> = {
  inspect: inspectCommand,
  generate: generateCommand,
  logits: logitsCommand,
  bench: benchCommand,
  perplexity: perplexityCommand,
  attention: attentionCommand,
  'head-similarity': headSimilarityCommand,
  analyze: analyzeCommand,
  'analysis-bench': analysisBenchCommand,
};
