// One CLI command: a summary for the usage text and a run function returning the exit code.
export interface CliCommand {
  summary: string;
  run(argv: string[]): Promise<number>;
}
