import { defaultConfig } from '../../host/config.js';
import { activeSecretsBoundary, vaultPathOf } from '../../host/secrets-boundary.js';
import { passphraseEnvVar } from '../../secrets/passphrase.js';
import { SecretLimits } from '../../secrets/limits.js';
import { newPassphraseEnvVar, runSecretsCommand } from '../../secrets/vault-cli.js';
import type { CommandAction, CommandArgs } from '../command.js';
import type { Io } from '../io.js';

/** Bytes of stdin `secrets set` reads at most (a value longer than a secret may be is refused later). */
const stdinBytesMax = SecretLimits.valueCharsMax * 4 + 2;

function text(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** All of stdin, bounded; `set` reads the value from it when stdin is not a terminal. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.byteLength;
    if (bytes > stdinBytesMax) throw new RangeError(`stdin holds more than ${stdinBytesMax} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The argv `runSecretsCommand` parses, rebuilt from the dispatcher's strict parse. The vault is
 * `--vault`, else `$CRUSTCORE_VAULT`, else `secrets.vault` from the config, else the state dir's.
 */
function secretsArgv(args: CommandArgs, io: Io): string[] {
  const config = activeSecretsBoundary()?.config ?? defaultConfig;
  const argv = [...args.positionals];
  if (args.values['reveal'] === true) argv.push('--reveal');
  const fromEnv = text(args, 'from-env');
  if (fromEnv !== undefined) argv.push('--from-env', fromEnv);
  argv.push('--vault', text(args, 'vault') ?? vaultPathOf(config, io.env));
  if (args.json) argv.push('--json');
  return argv;
}

/**
 * The environment `runSecretsCommand` reads: a private copy, never `process.env`. The passphrases
 * (and a `--from-env` variable mapped in `secrets.env`) left `process.env` when the process
 * started; they are handed back here, each with a logged purpose.
 */
function secretsEnv(args: CommandArgs, io: Io): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...io.env };
  const boundary = activeSecretsBoundary();
  if (boundary === null) return env;
  const passphrase = boundary.passphrase;
  if (passphrase !== null) env[passphraseEnvVar] = passphrase.expose('vault passphrase for crustcore secrets');
  const next = boundary.newPassphrase;
  if (next !== null) env[newPassphraseEnvVar] = next.expose('new vault passphrase for crustcore secrets rotate');
  const fromEnv = text(args, 'from-env');
  const mapped = fromEnv === undefined ? undefined : boundary.envSecretOf(fromEnv);
  if (fromEnv !== undefined && mapped !== undefined && env[fromEnv] === undefined) {
    env[fromEnv] = mapped.expose('crustcore secrets set --from-env');
  }
  return env;
}

/** Runs `crustcore secrets`; loaded only when the command runs. */
export const secretsAction: CommandAction = async (args, io) => {
  const reveal = args.values['reveal'] === true && args.positionals[0] === 'get';
  const boundary = activeSecretsBoundary();
  let revealed = '';
  const code = await runSecretsCommand(secretsArgv(args, io), {
    // Only a successful `get --reveal` prints a value; it is collected and written past the redactor.
    stdout: reveal ? (chunk) => (revealed += chunk) : io.stdout,
    stderr: io.stderr,
    env: secretsEnv(args, io),
    stdinIsTty: process.stdin.isTTY === true,
    readStdin,
  });
  if (revealed !== '' && (boundary === null || !boundary.reveal(revealed))) io.stdout(revealed);
  return code;
};
