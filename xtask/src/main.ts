import { formatBenchTable } from './bench/table.js';
import { discoverBenches, runBenches } from './bench/run-benches.js';
import { build } from './build.js';
import { runImportCheck, runSizeCheck } from './gates/run-gates.js';
import { runLint } from './lint.js';
import { runLockPlatforms } from './lock-platforms.js';
import type { Outcome } from './outcome.js';
import { repoRoot } from './repo-root.js';
import { runTypecheck } from './typecheck.js';
import { runVerify, verifySteps } from './verify.js';

/** The xtask commands, each with its one-line help. */
const Commands = {
  build: 'build every bundle (kernel/dist/crustcore.js, ...) with its metafile; --quiet prints only errors',
  'size-check': 'fail when a bundle exceeds its KiB budget in size-budget.json',
  'import-check': 'fail when a bundle, kernel/package.json or kernel/src/core crosses an import boundary',
  typecheck: 'tsc -p on every tsconfig.json project',
  lint: 'eslint . and prettier --check .',
  verify: 'build, typecheck, lint, tests, size-check, import-check; one line each and a verdict',
  bench: 'build, then run every */bench/*.bench.ts and print a table of figures against targets',
  'lock-platforms':
    'add the optional per-platform packages a registry mirror omits to package-lock.json (run after npm install)',
  help: 'print this list',
} as const;

type Command = keyof typeof Commands;

const isCommand = (value: string): value is Command => Object.hasOwn(Commands, value);

function print(outcome: Outcome): number {
  for (const line of outcome.lines) process.stdout.write(`${line}\n`);
  return outcome.ok ? 0 : 1;
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

async function run(command: Command, flags: readonly string[]): Promise<number> {
  switch (command) {
    case 'build':
      await build(repoRoot, { quiet: flags.includes('--quiet') });
      return 0;
    case 'size-check':
      return print(runSizeCheck(repoRoot));
    case 'import-check':
      return print(runImportCheck(repoRoot));
    case 'typecheck':
      return print(await runTypecheck(repoRoot, false));
    case 'lint':
      return print(await runLint(repoRoot, false));
    case 'verify':
      return (await runVerify(verifySteps(repoRoot))) ? 0 : 1;
    case 'bench': {
      await build(repoRoot, { quiet: true });
      const { rows, failures } = await runBenches(repoRoot, discoverBenches(repoRoot));
      for (const failure of failures) process.stderr.write(`bench ${failure.bench} failed: ${failure.message}\n`);
      process.stdout.write(`${formatBenchTable(rows)}\n`);
      return failures.length === 0 ? 0 : 1;
    }
    case 'lock-platforms':
      return print(runLockPlatforms(repoRoot));
    case 'help':
      for (const [name, help] of Object.entries(Commands)) process.stdout.write(`${name.padEnd(14)}${help}\n`);
      return 0;
    default:
      return assertNever(command);
  }
}

const [command = 'help', ...flags] = process.argv.slice(2);
// Every path below is relative to the repository root, and esbuild records inputs relative to the cwd.
process.chdir(repoRoot);
if (!isCommand(command)) {
  process.stderr.write(`xtask: unknown command '${command}'; run \`npm run xtask -- help\` for the list.\n`);
  process.exitCode = 2;
} else {
  try {
    process.exitCode = await run(command, flags);
  } catch (error) {
    process.stderr.write(`xtask ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
