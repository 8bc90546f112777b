/**
 * One `crustcore` process inside the secrets boundary: load the user's config, read and delete the
 * mapped environment secrets before any child process starts, open the vault and keyring for the
 * commands that print, and route stdout and stderr through the streaming redactor and the
 * hidden-text neutraliser until the command has finished.
 */
import { ConfigError, loadConfig } from './config.js';
import { activeRedactor, installSecretsBoundary, openSecretsBoundary } from './secrets-boundary.js';
import { redactingWriter, type TextSink } from './secrets-io.js';

/** The process's writers and environment, as the CLI's `Io` carries them. */
export type SessionIo = {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Record<string, string | undefined>;
};

/** Exit codes the session itself can return (the same values as the CLI's `ExitCode`). */
export const SessionExitCode = { usage: 2, internal: 70 } as const;

/** Commands that print no untrusted text: they never open the vault (`secrets` opens it itself). */
const commandsWithoutStoredSecrets: ReadonlySet<string> = new Set([
  'help',
  'version',
  'secrets',
  '--help',
  '-h',
  '--version',
]);

/**
 * Runs `run` with redacting writers and the process's secrets boundary installed. A config or
 * vault problem is one line on stderr and exit 2; an exception from `run` is an internal error
 * (exit 70) whose message is redacted too.
 */
export async function withSecretsBoundary(
  argv: readonly string[],
  raw: SessionIo,
  run: (io: SessionIo) => Promise<number>,
): Promise<number> {
  const out = redactingWriter(raw.stdout, activeRedactor);
  const err = redactingWriter(raw.stderr, activeRedactor);
  let uninstall = (): void => undefined;
  let close = (): void => undefined;
  try {
    let config;
    try {
      config = loadConfig(raw.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      err.write(`crustcore: ${error.message}\n`);
      return SessionExitCode.usage;
    }
    const boundary = openSecretsBoundary({ env: raw.env, config, argv });
    uninstall = installSecretsBoundary(boundary);
    close = () => boundary.close();
    boundary.setRevealSink((text) => {
      out.end();
      raw.stdout(text);
    });
    if (!commandsWithoutStoredSecrets.has(argv[0] ?? '')) {
      const problem = await boundary.loadStoredSecrets();
      if (problem !== null) {
        err.write(`crustcore: ${problem}\n`);
        return SessionExitCode.usage;
      }
    }
    return await run({ stdout: out.write, stderr: err.write, env: raw.env });
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    err.write(
      `crustcore: internal error (${text.split('\n')[0] ?? ''}); this is a bug in crustcore, please report it.\n`,
    );
    return SessionExitCode.internal;
  } finally {
    out.end();
    err.end();
    close();
    uninstall();
  }
}
