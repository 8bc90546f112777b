import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isSecretName } from './limits.js';
import { passphraseEnvVar, promptHidden, readPassphrase } from './passphrase.js';
import { assertNever } from './result.js';
import type { Result } from './result.js';
import { Secret } from './secret.js';
import { formatSecretsError } from './secrets-error.js';
import type { SecretsError } from './secrets-error.js';
import { vaultCreate, vaultGet, vaultList, vaultRemove, vaultRotate, vaultSet } from './vault.js';
import type { VaultWriteOptions } from './vault.js';

/** The environment variable that carries the new passphrase for `rotate`. */
export const newPassphraseEnvVar = 'CRUSTCORE_VAULT_NEW_PASSPHRASE';

/** What `crustcore secrets` talks to. */
export type SecretsCommandIo = {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Usually `process.env`; passphrase variables are deleted from it once read. */
  readonly env: Record<string, string | undefined>;
  readonly stdinIsTty: boolean;
  /** All of stdin, for `set` when stdin is not a terminal. */
  readStdin?(): Promise<string>;
};

/** Exit codes of `crustcore secrets`. */
export const SecretsExitCode = { ok: 0, failed: 1, usage: 2 } as const;

const usage =
  'usage: crustcore secrets set <name> [--from-env VAR] | get <name> [--reveal] | list | rm <name> | rotate   [--vault PATH] [--json]';

/** `$CRUSTCORE_VAULT`, else `secrets.vault` in the state directory (`$CRUSTCORE_STATE_DIR`, `$XDG_STATE_HOME/crustcore`, `~/.local/state/crustcore`). */
export function defaultVaultPath(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env['CRUSTCORE_VAULT'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const stateDir =
    env['CRUSTCORE_STATE_DIR'] ??
    join(env['XDG_STATE_HOME'] ?? join(env['HOME'] ?? homedir(), '.local', 'state'), 'crustcore');
  return join(stateDir, 'secrets.vault');
}

type Command =
  | { readonly kind: 'set'; readonly name: string; readonly fromEnv: string | undefined }
  | { readonly kind: 'get'; readonly name: string; readonly reveal: boolean }
  | { readonly kind: 'list' }
  | { readonly kind: 'rm'; readonly name: string }
  | { readonly kind: 'rotate' };

type Parsed = { readonly command: Command; readonly vaultPath: string | undefined; readonly json: boolean };

function parse(argv: readonly string[]): Parsed | string {
  const positionals: string[] = [];
  let vaultPath: string | undefined;
  let fromEnv: string | undefined;
  let json = false;
  let reveal = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const takeValue = (): string | undefined => inline ?? argv[++index];
    switch (flag) {
      case '--vault':
        vaultPath = takeValue();
        if (vaultPath === undefined || vaultPath === '') return '--vault needs a path';
        break;
      case '--from-env':
        fromEnv = takeValue();
        if (fromEnv === undefined || fromEnv === '') return '--from-env needs a variable name';
        break;
      case '--json':
        json = true;
        break;
      case '--reveal':
        reveal = true;
        break;
      default:
        if (arg.startsWith('-')) return `unknown option ${arg}`;
        positionals.push(arg);
    }
  }
  const [verb, name, ...rest] = positionals;
  if (rest.length > 0) return `unexpected argument ${rest[0] ?? ''}`;
  const needName = (): string | undefined => (name !== undefined && isSecretName(name) ? name : undefined);
  const only = (command: Command, allowed: { fromEnv?: boolean; reveal?: boolean }): Parsed | string => {
    if (fromEnv !== undefined && allowed.fromEnv !== true) return `--from-env applies to set only`;
    if (reveal && allowed.reveal !== true) return `--reveal applies to get only`;
    return { command, vaultPath, json };
  };
  switch (verb) {
    case 'set':
    case 'get':
    case 'rm': {
      const valid = needName();
      if (valid === undefined) {
        return name === undefined
          ? `${verb} needs a secret name`
          : `invalid secret name ${JSON.stringify(name.slice(0, 80))}: use 1-64 letters, digits, '.', '_' or '-'`;
      }
      if (verb === 'set') return only({ kind: 'set', name: valid, fromEnv }, { fromEnv: true });
      if (verb === 'get') return only({ kind: 'get', name: valid, reveal }, { reveal: true });
      return only({ kind: 'rm', name: valid }, {});
    }
    case 'list':
    case 'rotate':
      if (name !== undefined) return `${verb} takes no argument`;
      return only({ kind: verb }, {});
    case undefined:
      return 'missing command';
    default:
      return `unknown command ${verb}`;
  }
}

/**
 * `crustcore secrets set|get|list|rm|rotate`. Values never come from argv (which other users can see
 * in `ps`): `set` reads stdin, a hidden prompt, or `--from-env`. `get` prints only whether a
 * secret exists and its length; `--reveal` prints the value because the user asked for it.
 * Returns the exit code: 0 ok, 1 failed, 2 usage.
 */
export async function runSecretsCommand(
  argv: readonly string[],
  io: SecretsCommandIo,
  options: VaultWriteOptions = {},
): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'string') {
    io.stderr(`crustcore secrets: ${parsed}\n${usage}\n`);
    return SecretsExitCode.usage;
  }
  const path = parsed.vaultPath ?? defaultVaultPath(io.env);
  const result = await execute(parsed.command, path, io, options);
  if (!result.ok) {
    const message = typeof result.error === 'string' ? result.error : formatSecretsError(result.error);
    io.stderr(`crustcore secrets: ${message}\n`);
    return SecretsExitCode.failed;
  }
  const output = parsed.json ? `${JSON.stringify(result.value.json)}\n` : result.value.text;
  if (output !== '') io.stdout(output);
  return SecretsExitCode.ok;
}

type Output = { readonly text: string; readonly json: unknown };

const passphrase = (io: SecretsCommandIo, confirm: boolean): Promise<Result<Secret, SecretsError>> =>
  readPassphrase({ env: io.env, envVarName: passphraseEnvVar, tty: io.stdinIsTty, confirm });

async function execute(
  command: Command,
  path: string,
  io: SecretsCommandIo,
  options: VaultWriteOptions,
): Promise<Result<Output, SecretsError | string>> {
  switch (command.kind) {
    case 'set': {
      const value = await readValue(command, io);
      if (!value.ok) return value;
      const creating = !existsSync(path);
      const key = await passphrase(io, creating);
      if (!key.ok) return key;
      if (creating) {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        const created = await vaultCreate(path, key.value, options);
        if (!created.ok) return created;
      }
      const set = await vaultSet(path, key.value, value.value);
      if (!set.ok) return set;
      return {
        ok: true,
        value: {
          text: `${creating ? 'created vault and ' : ''}set ${command.name}\n`,
          json: { name: command.name, set: true, created: creating },
        },
      };
    }
    case 'get': {
      const key = await passphrase(io, false);
      if (!key.ok) return key;
      const got = await vaultGet(path, key.value, command.name);
      if (!got.ok) return got;
      if (command.reveal) {
        const value = got.value.expose('secrets get --reveal');
        return { ok: true, value: { text: `${value}\n`, json: { name: command.name, value } } };
      }
      const length = [...got.value.expose('secrets get (length only)')].length;
      return {
        ok: true,
        value: {
          text: `${command.name}: present, ${length} characters\n`,
          json: { name: command.name, present: true, length },
        },
      };
    }
    case 'list': {
      const key = await passphrase(io, false);
      if (!key.ok) return key;
      const names = await vaultList(path, key.value);
      if (!names.ok) return names;
      return {
        ok: true,
        value: { text: names.value.map((name) => `${name}\n`).join(''), json: { names: names.value } },
      };
    }
    case 'rm': {
      const key = await passphrase(io, false);
      if (!key.ok) return key;
      const removed = await vaultRemove(path, key.value, command.name);
      if (!removed.ok) return removed;
      return { ok: true, value: { text: `removed ${command.name}\n`, json: { name: command.name, removed: true } } };
    }
    case 'rotate': {
      const key = await passphrase(io, false);
      if (!key.ok) return key;
      const next = await readPassphrase({
        env: io.env,
        envVarName: newPassphraseEnvVar,
        tty: io.stdinIsTty,
        confirm: true,
        prompt: 'New vault passphrase: ',
      });
      if (!next.ok) return next;
      const rotated = await vaultRotate(path, key.value, next.value, options);
      if (!rotated.ok) return rotated;
      return { ok: true, value: { text: 'rotated the vault passphrase\n', json: { rotated: true } } };
    }
    default:
      return assertNever(command);
  }
}

async function readValue(
  command: Extract<Command, { kind: 'set' }>,
  io: SecretsCommandIo,
): Promise<Result<Secret, SecretsError | string>> {
  let value: string | undefined;
  if (command.fromEnv !== undefined) {
    value = io.env[command.fromEnv];
    delete io.env[command.fromEnv];
    if (value === undefined || value === '')
      return { ok: false, error: `${command.fromEnv} is not set; export it or pipe the value on stdin` };
  } else if (!io.stdinIsTty && io.readStdin !== undefined) {
    value = (await io.readStdin()).replace(/\r?\n$/, '');
  } else if (io.stdinIsTty) {
    const answer = await promptHidden(`Value for ${command.name}: `);
    if (!answer.ok)
      return {
        ok: false,
        error:
          answer.error === 'cancelled'
            ? 'value entry cancelled; nothing was changed'
            : 'no terminal to read the value from; pipe it on stdin',
      };
    value = answer.value;
  }
  if (value === undefined || value === '')
    return { ok: false, error: 'no value given; pipe it on stdin, use --from-env VAR, or run in a terminal' };
  return { ok: true, value: new Secret(command.name, value) };
}
