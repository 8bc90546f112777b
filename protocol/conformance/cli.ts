import type { ConformanceLimits } from './conformance-limits.js';
import { readExpectedFailures } from './expected-failures.js';
import { formatReport } from './report.js';
import { runConformance } from './run-conformance.js';
import { sidecarKinds } from './sidecar-kinds.js';

/** Exit codes of `crustcore-conformance`. */
export const ConformanceExitCode = { conformant: 0, notConformant: 1, usage: 2 } as const;

/** The usage text. */
export const usageText = `usage: crustcore-conformance --sidecar <${Object.keys(sidecarKinds).join('|')}> [--expected-failures <file.json>] [--fixtures <dir>] [--json]
       [--timeout-ms <n>] [--refusal-timeout-ms <n>] [--concurrency <n>] -- <command> [args...]

Runs <command> (no shell, minimal environment) as a sidecar of the given kind and checks it
against the CrustCore protocol fixtures and scenarios. Exit code 0: conformant; 1: not
conformant (a failure, or a stale expected failure); 2: usage error.`;

/** Where the CLI writes. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

function positiveInt(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 1)
    throw new Error(`${flag} needs a positive integer`);
  return value;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const separator = argv.indexOf('--');
  const flags = separator === -1 ? argv : argv.slice(0, separator);
  const command = separator === -1 ? [] : argv.slice(separator + 1);
  let sidecar: string | undefined;
  let expectedFile: string | undefined;
  let json = false;
  let fixturesRoot: string | undefined;
  const limits: { -readonly [K in keyof ConformanceLimits]?: ConformanceLimits[K] } = {};
  try {
    for (let index = 0; index < flags.length; index++) {
      const flag = flags[index];
      switch (flag) {
        case '--sidecar':
          sidecar = flags[++index];
          break;
        case '--expected-failures':
          expectedFile = flags[++index];
          break;
        case '--fixtures':
          fixturesRoot = flags[++index];
          if (fixturesRoot === undefined) throw new Error('--fixtures needs a folder');
          break;
        case '--refusal-timeout-ms':
          limits.refusalTimeoutMs = positiveInt(flag, flags[++index]);
          break;
        case '--json':
          json = true;
          break;
        case '--timeout-ms':
          limits.responseTimeoutMs = positiveInt(flag, flags[++index]);
          break;
        case '--concurrency':
          limits.concurrency = positiveInt(flag, flags[++index]);
          break;
        case '--help':
          io.stdout(`${usageText}\n`);
          return ConformanceExitCode.conformant;
        default:
          throw new Error(`unknown argument ${JSON.stringify(flag)}`);
      }
    }
    if (sidecar === undefined || !Object.hasOwn(sidecarKinds, sidecar))
      throw new Error('--sidecar needs a known sidecar kind');
    const [executable, ...args] = command;
    if (executable === undefined) throw new Error('give the sidecar command after --');
    const expectedFailures = expectedFile === undefined ? undefined : readExpectedFailures(expectedFile);
    const report = await runConformance({
      sidecar,
      command: { command: executable, args },
      limits,
      ...(fixturesRoot === undefined ? {} : { fixturesRoot }),
      ...(expectedFailures === undefined ? {} : { expectedFailures }),
    });
    io.stdout(`${json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    return report.ok ? ConformanceExitCode.conformant : ConformanceExitCode.notConformant;
  } catch (error) {
    io.stderr(`crustcore-conformance: ${error instanceof Error ? error.message : String(error)}\n${usageText}\n`);
    return ConformanceExitCode.usage;
  }
}
