/**
 * Where the CLI writes. Human mode (the default): results and progress on stdout.
 * `--json`: stdout carries exactly one JSON document (the result, or the error as problem+json);
 * progress goes to stderr so that scripts can still watch it.
 */
export interface CliIo {
  readonly json: boolean;
  /** Progress lines and bars: stdout for people, stderr under --json. */
  readonly progress: NodeJS.WriteStream;
  /** Human result text; nothing under --json. */
  text(line: string): void;
  /** The command's result; written once, under --json only. */
  result(value: unknown): void;
}

export function cliIo(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): CliIo {
  return {
    json,
    progress: json ? stderr : stdout,
    text: (line) => {
      if (!json) stdout.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    result: (value) => {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/** Takes `--json` out of the arguments, wherever it stands. */
export function takeJsonFlag(argv: string[]): { json: boolean; args: string[] } {
  return { json: argv.includes('--json'), args: argv.filter((a) => a !== '--json') };
}
