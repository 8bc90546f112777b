import { closeSync, constants, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { ReadStream } from 'node:tty';
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import { Secret } from './secret.js';
import type { ExposeAudit } from './secret.js';
import type { SecretsError } from './secrets-error.js';

/** The environment variable that carries the vault passphrase for non-interactive use. */
export const passphraseEnvVar = 'CRUSTCORE_VAULT_PASSPHRASE';

/** Where a passphrase may come from. */
export type PassphraseOptions = {
  /** The environment to read `envVarName` from; the variable is deleted from it once read. */
  readonly env: Record<string, string | undefined>;
  readonly envVarName: string;
  /** Whether stdin is a terminal; only then is the user prompted (on /dev/tty, echo off). */
  readonly tty: boolean;
  /** The prompt shown on the terminal. */
  readonly prompt?: string;
  /** Ask twice on the terminal and refuse when the answers differ (for a new passphrase). */
  readonly confirm?: boolean;
  /** The name the returned `Secret` carries. */
  readonly name?: string;
  readonly onExpose?: ExposeAudit;
};

/**
 * Reads a passphrase: from `env[envVarName]` (then deleted, so no child inherits it), else from a
 * terminal prompt with echo off, else fails with `passphraseUnavailable`, which names the variable.
 */
export async function readPassphrase(options: PassphraseOptions): Promise<Result<Secret, SecretsError>> {
  const name = options.name ?? 'vault-passphrase';
  const secretOptions = options.onExpose === undefined ? {} : { onExpose: options.onExpose };
  const fromEnv = options.env[options.envVarName];
  delete options.env[options.envVarName];
  if (fromEnv !== undefined && fromEnv !== '') return ok(new Secret(name, fromEnv, secretOptions));
  if (!options.tty) return fail({ code: 'passphraseUnavailable', envVarName: options.envVarName });

  const prompt = options.prompt ?? 'Vault passphrase: ';
  const first = await promptHidden(prompt);
  if (!first.ok)
    return fail(
      first.error === 'cancelled'
        ? { code: 'passphraseCancelled' }
        : { code: 'passphraseUnavailable', envVarName: options.envVarName },
    );
  if (options.confirm === true) {
    const second = await promptHidden('Repeat it: ');
    if (!second.ok) return fail({ code: 'passphraseCancelled' });
    if (second.value !== first.value) return fail({ code: 'passphraseMismatch' });
  }
  return ok(new Secret(name, first.value, secretOptions));
}

/**
 * Reads one line from the controlling terminal without echo. readline puts the terminal in raw mode
 * (which turns echo off) and writes its own echo to a sink that discards it.
 */
export async function promptHidden(prompt: string): Promise<Result<string, 'cancelled' | 'noTerminal'>> {
  let input: ReadStream;
  let output;
  let readFd: number | undefined;
  try {
    // A raw descriptor, not a FileHandle: the tty stream owns it and closes it on destroy.
    readFd = openSync('/dev/tty', constants.O_RDONLY | constants.O_NOCTTY);
    output = await open('/dev/tty', constants.O_WRONLY | constants.O_NOCTTY);
    input = new ReadStream(readFd);
  } catch {
    if (readFd !== undefined) closeSync(readFd);
    return fail('noTerminal');
  }
  const writeTerminal = (text: string): Promise<unknown> => output.write(text).catch(() => undefined);
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  // Echo goes off before the prompt shows, so nothing typed after seeing it is ever echoed.
  input.setRawMode(true);
  const lines = createInterface({ input, output: sink, terminal: true, historySize: 0 });
  // Listen before the prompt shows: an answer typed (or pasted) the moment it appears can be read
  // before the prompt's write completes, and a line nobody listens for is lost for good.
  const answered = new Promise<string | undefined>((resolve) => {
    lines.once('line', resolve);
    lines.once('close', () => resolve(undefined));
    lines.once('SIGINT', () => resolve(undefined));
  });
  try {
    await writeTerminal(prompt);
    const answer = await answered;
    return answer === undefined ? fail('cancelled') : ok(answer);
  } finally {
    lines.close();
    input.destroy();
    await writeTerminal('\n');
    await output.close();
  }
}
