/**
 * The `crustcore` entry point. It only wires the process to `runCli`; everything testable lives
 * there. The exit code is set, not forced, so buffered stdout is flushed before exit.
 */
import { ExitCode } from './exit-codes.js';
import { runCli } from './run-cli.js';

// A reader that goes away (`crustcore export log | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  process.exit(error.code === 'EPIPE' ? ExitCode.ok : ExitCode.internal);
});

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  });
} catch (error) {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(
    `crustcore: internal error (${text.split('\n')[0] ?? ''}); this is a bug in crustcore, please report it.\n`,
  );
  process.exitCode = ExitCode.internal;
}
