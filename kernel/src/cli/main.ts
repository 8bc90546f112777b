/**
 * The `crustcore` entry point. It only wires the process to `runCli`; everything testable lives
 * there. The exit code is set, not forced, so buffered stdout is flushed before exit.
 */
import { withSecretsBoundary } from '../host/secrets-session.js';
import { ExitCode } from './exit-codes.js';
import { runCli } from './run-cli.js';

// A reader that goes away (`crustcore export log | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  process.exit(error.code === 'EPIPE' ? ExitCode.ok : ExitCode.internal);
});

try {
  // Secrets mapped in the config leave process.env here, before any child process is spawned;
  // everything the command prints passes the streaming redactor.
  const argv = process.argv.slice(2);
  process.exitCode = await withSecretsBoundary(
    argv,
    {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
    },
    (io) => runCli(argv, io),
  );
} catch (error) {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(
    `crustcore: internal error (${text.split('\n')[0] ?? ''}); this is a bug in crustcore, please report it.\n`,
  );
  process.exitCode = ExitCode.internal;
}
