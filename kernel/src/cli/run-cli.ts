/**
 * The dispatcher: finds the command, parses its flags strictly with `node:util` `parseArgs`, and
 * turns every failure into one line on stderr and an exit code. No stack trace is ever printed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StateDirError } from '../host/state-dir.js';
import { LogError } from '../log/log-error.js';
import type { Command, CommandArgs } from './command.js';
import { findCommand } from './commands/index.js';
import { ExitCode } from './exit-codes.js';
import { commandHelp } from './help-text.js';
import type { Io } from './io.js';

/** The `options` of a `parseArgs` call. */
type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
const commonOptions = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

/** Prints one usage error line and returns the usage exit code. */
function usageError(io: Io, message: string): number {
  io.stderr(`crustcore: ${message}\n`);
  return ExitCode.usage;
}

/** Runs `crustcore <argv…>` and returns the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    return usageError(io, "no command given. Run 'crustcore help' to list the commands.");
  }
  if (first === '--help' || first === '-h') return runCli(['help', ...rest], io);
  if (first === '--version') return runCli(['version', ...rest], io);
  const command = findCommand(first);
  if (command === undefined) {
    const what = first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`;
    return usageError(io, `${what}. Run 'crustcore help' to list the commands.`);
  }
  const parsed = parseCommandLine(command, rest);
  if (!parsed.ok) return usageError(io, `${parsed.message} Run 'crustcore help ${command.name}'.`);
  if (parsed.help) {
    io.stdout(commandHelp(command));
    return ExitCode.ok;
  }
  try {
    return await command.run(parsed.args, io);
  } catch (error) {
    return reportThrown(io, parsed.args.json, error);
  }
}

type Parsed =
  | { readonly ok: true; readonly help: boolean; readonly args: CommandArgs }
  | { readonly ok: false; readonly message: string };

function parseCommandLine(command: Command, args: readonly string[]): Parsed {
  const options: ParseArgsOptionsConfig = { ...commonOptions };
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.multiple === true ? { multiple: true } : {}),
    };
  }
  let result: ReturnType<typeof parseArgs>;
  try {
    result = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    return { ok: false, message: describeParseError(command, error) };
  }
  const values = result.values as Record<string, string | boolean | readonly string[] | undefined>;
  const help = values['help'] === true;
  const max = command.positionals.length;
  if (!help && result.positionals.length > max) {
    return { ok: false, message: `unexpected argument '${result.positionals[max] ?? ''}' for '${command.name}'.` };
  }
  const missing = command.positionals.find((spec, index) => spec.required && result.positionals[index] === undefined);
  if (!help && missing !== undefined) {
    return { ok: false, message: `'${command.name}' needs <${missing.name}>.` };
  }
  return { ok: true, help, args: { values, positionals: result.positionals, json: values['json'] === true } };
}

function describeParseError(command: Command, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const text = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']*)'/.exec(text)?.[1] ?? '';
  const flag = quoted.replace(/ <value>$/, '');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${flag}' for '${command.name}'.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return text.includes('argument missing')
        ? `option '${flag}' for '${command.name}' needs a value.`
        : `option '${flag}' for '${command.name}' takes no value.`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${flag}' for '${command.name}'.`;
    default:
      return `cannot parse the arguments of '${command.name}': ${text.split('\n')[0] ?? ''}`;
  }
}

/** Expected failures (`StateDirError`, `LogError`) are one line; anything else is a bug (exit 70). */
function reportThrown(io: Io, json: boolean, error: unknown): number {
  let code: number;
  let kind: string;
  let message: string;
  if (error instanceof StateDirError) {
    [code, kind, message] = [ExitCode.usage, error.code, error.message];
  } else if (error instanceof LogError) {
    [code, kind, message] = [ExitCode.failed, error.code, error.message];
  } else {
    const name = error instanceof Error ? error.name : 'Error';
    const text = error instanceof Error ? error.message : String(error);
    [code, kind, message] = [
      ExitCode.internal,
      'internal',
      `internal error (${name}: ${text.split('\n')[0] ?? ''}); this is a bug in crustcore, please report it.`,
    ];
  }
  if (json) io.stdout(`${JSON.stringify({ error: { code: kind, message } })}\n`);
  io.stderr(`crustcore: ${message}\n`);
  return code;
}
