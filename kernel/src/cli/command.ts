import type { Io } from './io.js';

/** One option of a command, in the shape `node:util` `parseArgs` takes plus help text. */
export type OptionSpec = {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The option may repeat; its value is then a list. */
  readonly multiple?: boolean;
  /** Shown in help after the flag, e.g. `<path>`. */
  readonly valueName?: string;
  readonly description: string;
};

/** One positional argument. */
export type PositionalSpec = { readonly name: string; readonly required: boolean; readonly description: string };

/** Parsed arguments handed to `Command.run`. */
export type CommandArgs = {
  readonly values: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  readonly positionals: readonly string[];
  /** `--json`: print exactly one JSON object on stdout. */
  readonly json: boolean;
};

/**
 * A CLI command: one file in `cli/commands/`, listed in `cli/commands/index.ts`. `--json` and
 * `--help` are added to every command by the dispatcher and are not listed in `options`.
 */
export type Command = {
  readonly name: string;
  /** One line for `crustcore help`. */
  readonly summary: string;
  /** The synopsis, e.g. `crustcore inspect <log> [--json]`. */
  readonly usage: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positionals: readonly PositionalSpec[];
  /** Runs the command; returns an `ExitCode`. Expected failures are reported on `io`, not thrown. */
  readonly run: (args: CommandArgs, io: Io) => Promise<number>;
};
