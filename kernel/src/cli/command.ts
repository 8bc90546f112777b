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

/** What a command does once its arguments are parsed; returns an `ExitCode`. */
export type CommandAction = (args: CommandArgs, io: Io) => Promise<number>;

/**
 * A CLI command: its metadata in `cli/commands/` (listed in `cli/commands/index.ts`), its
 * implementation in `cli/actions/`. `--json` and `--help` are added to every command by the
 * dispatcher and are not listed in `options`.
 */
export type Command = {
  readonly name: string;
  /** One line for `crustcore help`. */
  readonly summary: string;
  /** The synopsis, e.g. `crustcore inspect <log> [--json]`. */
  readonly usage: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positionals: readonly PositionalSpec[];
  /**
   * Runs the command; returns an `ExitCode`. Expected failures are reported on `io`, not thrown.
   * It loads its implementation from `cli/actions/` with `import()`, so start-up stays cheap.
   */
  readonly run: CommandAction;
};
