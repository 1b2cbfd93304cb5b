// One CLI command: a summary and a usage line for the help text, and a run function returning the exit code.
export interface CliCommand {
  summary: string;
  /** The command's flags, e.g. `logits --model DIR --ids 1,2,3 [--json]`; printed by `<command> --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}
