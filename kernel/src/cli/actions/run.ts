import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { assertNever } from '../../core/index.js';
import { modelCandidateFromFlags } from '../../host/agent-model.js';
import { loadPolicy } from '../../host/policy-gate.js';
import {
  runTask,
  type BudgetReport,
  type CandidateRequest,
  type RunReport,
  type RunRequest,
} from '../../host/run-task.js';
import { compileGlob } from '../../policy/index.js';
import type { SandboxBackend } from '../../sandbox/index.js';
import type { CommandAction, CommandArgs } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { ttyConfirm } from './approve.js';

/** Bounds on what `run` accepts from the command line. */
export const RunLimits = {
  attemptsMax: 10,
  timeoutSecondsMax: 24 * 60 * 60,
  timeoutSecondsDefault: 600,
  patchBytesMax: 64 * 1024 * 1024,
  /** Highest `--max-tokens`. */
  tokensMax: 1_000_000_000,
  /** Highest `--max-cost`, in micros (100000 dollars). */
  costMicrosMax: 100_000_000_000,
  /** Decimal places `--max-cost` may carry: one micro is the smallest amount. */
  costDecimalsMax: 6,
} as const;

const microsPerUnit = 1_000_000;

/**
 * `--max-cost` in micros, read from the decimal text itself (never through a float): `0.50` is
 * exactly 500000. Null when the text is not a plain amount above 0 and within the bound.
 */
export function parseCostMicros(value: string): number | null {
  const match = /^(\d{1,12})(?:\.(\d{1,6}))?$/u.exec(value);
  if (match === null) return null;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(RunLimits.costDecimalsMax, '0'));
  const micros = whole * microsPerUnit + fraction;
  return micros < 1 || micros > RunLimits.costMicrosMax ? null : micros;
}

/** `--max-tokens` as a whole number within bounds, or null. */
export function parseTokensMax(value: string): number | null {
  if (!/^\d{1,10}$/u.test(value)) return null;
  const tokens = Number(value);
  return tokens < 1 || tokens > RunLimits.tokensMax ? null : tokens;
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function text(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

function list(args: CommandArgs, name: string): readonly string[] {
  const value = args.values[name];
  return Array.isArray(value) ? (value as readonly string[]) : [];
}

function flag(args: CommandArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Parses and checks `run`'s flags into a request; a string is the one-line usage error. */
export function runRequestOf(args: CommandArgs, io: Io, cwd: string): RunRequest | string {
  const verify = text(args, 'verify');
  if (verify === undefined)
    return "'run' needs --verify '<command>' (the command that proves the change, e.g. 'npm test')";
  const patchPath = text(args, 'patch');
  const worker = text(args, 'worker');
  const modelSpec = text(args, 'model');
  if (modelSpec !== undefined && (patchPath !== undefined || worker !== undefined))
    return '--model, --patch and --worker are exclusive: give one candidate source';
  if (modelSpec === undefined && (text(args, 'script') !== undefined || text(args, 'turns') !== undefined))
    return '--script and --turns only apply with --model';
  if (patchPath !== undefined && worker !== undefined)
    return '--patch and --worker are exclusive: give one candidate source';
  const tokensText = text(args, 'max-tokens');
  const costText = text(args, 'max-cost');
  if (modelSpec === undefined && (tokensText !== undefined || costText !== undefined))
    return '--max-tokens and --max-cost need --model: only a model spends tokens and cost';
  const tokensMax = tokensText === undefined ? undefined : parseTokensMax(tokensText);
  if (tokensMax === null)
    return `--max-tokens must be a whole number from 1 to ${RunLimits.tokensMax}, got '${tokensText ?? ''}'`;
  const costMicrosMax = costText === undefined ? undefined : parseCostMicros(costText);
  if (costMicrosMax === null) {
    const most = RunLimits.costMicrosMax / microsPerUnit;
    return `--max-cost must be an amount of dollars above 0 and at most ${most}, with at most ${RunLimits.costDecimalsMax} decimals (e.g. 0.50), got '${costText ?? ''}'`;
  }
  if (worker === undefined && (flag(args, 'worker-network') || list(args, 'worker-env').length > 0)) {
    return '--worker-network and --worker-env only apply with --worker';
  }
  let candidate: CandidateRequest = { kind: 'workingTree' };
  if (patchPath !== undefined) {
    let patch: Buffer;
    try {
      patch = readFileSync(resolve(cwd, patchPath));
    } catch (error) {
      return `cannot read --patch ${patchPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    }
    if (patch.byteLength > RunLimits.patchBytesMax)
      return `--patch ${patchPath} is larger than ${RunLimits.patchBytesMax} bytes`;
    candidate = { kind: 'patch', patch, source: patchPath };
  } else if (modelSpec !== undefined) {
    const model = modelCandidateFromFlags({
      spec: modelSpec,
      script: text(args, 'script'),
      turns: text(args, 'turns'),
      costCapped: costMicrosMax !== undefined,
      env: io.env,
      cwd,
    });
    if (typeof model === 'string') return model;
    candidate = { kind: 'model', ...model };
  } else if (worker !== undefined) {
    if (worker.trim() === '') return '--worker is empty; give the command that changes the tree';
    const names = list(args, 'worker-env');
    const env: Record<string, string> = {};
    for (const name of names) {
      if (!envName.test(name)) return `--worker-env '${name}' is not a variable name`;
      const value = io.env[name];
      if (value === undefined) return `--worker-env ${name}: the variable is not set in this environment`;
      env[name] = value;
    }
    candidate = {
      kind: 'worker',
      command: worker,
      grant: { network: flag(args, 'worker-network'), env },
      grantNames: names,
    };
  }
  const attemptsText = text(args, 'attempts');
  const retries = candidate.kind === 'worker' || candidate.kind === 'model';
  const attempts = attemptsText === undefined ? (retries ? 2 : 1) : Number(attemptsText);
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > RunLimits.attemptsMax) {
    return `--attempts must be a whole number from 1 to ${RunLimits.attemptsMax}, got '${attemptsText ?? ''}'`;
  }
  if (!retries && attempts > 1) {
    return '--attempts above 1 needs --worker or --model: the same patch would only be verified again';
  }
  const timeoutText = text(args, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? RunLimits.timeoutSecondsDefault : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > RunLimits.timeoutSecondsMax) {
    return `--timeout must be a number of seconds from 0 to ${RunLimits.timeoutSecondsMax}, got '${timeoutText ?? ''}'`;
  }
  const backendText = text(args, 'sandbox') ?? 'bwrap';
  if (backendText !== 'bwrap' && backendText !== 'gvisor')
    return `--sandbox must be bwrap or gvisor, got '${backendText}'`;
  const backend: SandboxBackend = backendText;
  const allowProtected = list(args, 'allow-protected');
  for (const glob of allowProtected) {
    // A glob that cannot compile would allow nothing; say so instead of verifying as if it did.
    const compiled = compileGlob(glob);
    if (!compiled.ok) return `--allow-protected '${glob.slice(0, 80)}' is not a valid glob: ${compiled.reason}`;
  }
  const out = text(args, 'out');
  const branch = text(args, 'branch');
  const backendPath = text(args, 'sandbox-binary');
  return {
    repoDir: resolve(cwd, text(args, 'dir') ?? '.'),
    verifyCommand: verify,
    goal: text(args, 'goal') ?? '',
    candidate,
    attemptsMax: attempts,
    ...(tokensMax === undefined ? {} : { tokensMax }),
    ...(costMicrosMax === undefined ? {} : { costMicrosMax }),
    baseRev: text(args, 'base') ?? 'HEAD',
    timeoutMs: Math.round(timeoutSeconds * 1000),
    backend,
    ...(backendPath === undefined ? {} : { backendPath: resolve(cwd, backendPath) }),
    ...(out === undefined ? {} : { outPath: resolve(cwd, out) }),
    ...(branch === undefined ? {} : { branch }),
    allowProtected,
    env: io.env,
    progress: (line) => io.stderr(`crustcore: ${line}\n`),
  };
}

const verdictWord: Readonly<Record<RunReport['verdict'], string>> = {
  verified: 'VERIFIED',
  integrated: 'VERIFIED',
  rejected: 'REJECTED',
  'needs-approval': 'NEEDS APPROVAL',
  refused: 'REFUSED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
  'budget-exhausted': 'BUDGET EXHAUSTED',
  running: 'UNFINISHED',
};

/** Micros as an amount of currency with all six decimals, e.g. 2136 → 0.002136. */
function formatMicros(micros: number): string {
  const whole = Math.floor(micros / microsPerUnit);
  return `${whole}.${String(micros - whole * microsPerUnit).padStart(RunLimits.costDecimalsMax, '0')}`;
}

/** Which budget ended the task and which flag raises it; null when no budget did. */
export function budgetLine(budget: BudgetReport | null): string | null {
  if (budget === null) return null;
  const used = budget.used === null ? '?' : String(budget.used);
  switch (budget.code) {
    case 'tokensExceeded':
      return `budget: the model used ${used} tokens, over the task's ${budget.limit} (raise it with --max-tokens)`;
    case 'costMicrosExceeded':
      return `budget: the model cost $${budget.used === null ? '?' : formatMicros(budget.used)} at the configured pricing, over the task's $${formatMicros(budget.limit)} (raise it with --max-cost)`;
    case 'outputBytesExceeded':
      return `budget: tools and verify runs wrote ${used} bytes of output, over the task's ${budget.limit}`;
    case 'wallMsExceeded':
      return 'budget: the task ran out of wall time (it grows with --timeout and --attempts)';
    default:
      return assertNever(budget.code);
  }
}

/** The human-readable verdict block: the verdict, why, the patch, and where the log is. */
export function renderRunReport(report: RunReport): string {
  const lines: string[] = [];
  const attempts = `${report.attempts.length} attempt${report.attempts.length === 1 ? '' : 's'}`;
  lines.push(`${verdictWord[report.verdict]}  task ${report.taskId} (${attempts})`);
  for (const attempt of report.attempts) {
    const verify = attempt.verify;
    const how =
      verify === null
        ? ''
        : verify.timedOut
          ? ', verify timed out'
          : verify.outputStopped
            ? ', verify stopped at the output budget'
            : `, verify exit ${String(verify.exitCode)}`;
    lines.push(
      `  attempt ${attempt.attempt}: ${attempt.outcome}${how}${attempt.reason === null ? '' : ` (${attempt.reason})`}`,
    );
  }
  if (report.reason !== null && report.verdict !== 'verified' && report.verdict !== 'integrated')
    lines.push(`reason: ${report.reason}`);
  const budget = report.verdict === 'budget-exhausted' ? budgetLine(report.budget) : null;
  if (budget !== null) lines.push(budget);
  if (report.protectedPaths.length > 0) {
    lines.push('protected paths changed (the patch needs your approval):');
    for (const violation of report.protectedPaths) lines.push(`  ${violation.path}  [${violation.rule}]`);
    lines.push("re-run with --allow-protected '<glob>' to accept them explicitly (recorded in the log)");
  }
  for (const accepted of report.acceptedProtected)
    lines.push(`accepted protected path: ${accepted.path} [${accepted.rule}]`);
  if (report.manifestChanges.length > 0)
    lines.push(`manifest or lockfile changed: ${report.manifestChanges.join(', ')}`);
  for (const risk of report.risks) lines.push(`risk: ${risk}`);
  const failed = [...report.attempts]
    .reverse()
    .find((attempt) => attempt.verify !== null && attempt.outcome !== 'passed');
  if (failed?.verify !== null && failed?.verify !== undefined && report.verdict === 'rejected') {
    lines.push(`verify output of attempt ${failed.attempt} (end${failed.verify.truncated ? ', truncated' : ''}):`);
    lines.push(
      ...failed.verify.outputTail
        .trimEnd()
        .split('\n')
        .slice(-20)
        .map((line) => `  | ${line}`),
    );
  }
  if (report.patch !== null) {
    lines.push(
      `patch sha256:${report.patch.digest} (${report.patch.files.length} file(s), ${report.patch.bytes} bytes)`,
    );
    if (report.patch.storedAt !== null) lines.push(`stored: ${report.patch.storedAt}`);
    if (report.patch.writtenTo !== null) lines.push(`written: ${report.patch.writtenTo}`);
  }
  if (report.branch !== null) {
    lines.push(
      report.branch.commit === null
        ? `branch '${report.branch.name}' not created: ${report.branch.error ?? 'unknown error'}`
        : `branch '${report.branch.name}' created at ${report.branch.commit}`,
    );
  }
  lines.push(`log: ${report.log.path} (head record ${report.log.headSeq})`);
  if (report.patchText !== null && report.patch?.writtenTo === null) {
    lines.push('', report.patchText.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `crustcore run`; loaded only when the command runs. */
export const runAction: CommandAction = async (args, io) => {
  const request = runRequestOf(args, io, process.cwd());
  if (typeof request === 'string') {
    if (args.json) io.stdout(`${JSON.stringify({ error: { code: 'usage', message: request } })}\n`);
    io.stderr(`crustcore: ${request}. Run 'crustcore help run'.\n`);
    return ExitCode.usage;
  }
  // The policy is read when the command starts: a malformed config or rules file runs nothing.
  const loaded = loadPolicy(io.env);
  if (!loaded.ok) {
    if (args.json) io.stdout(`${JSON.stringify({ error: { code: 'config', message: loaded.message } })}\n`);
    io.stderr(`crustcore: ${loaded.message}\n`);
    return ExitCode.usage;
  }
  const outcome = await runTask({
    ...request,
    policy: {
      policy: loaded.policy,
      yes: flag(args, 'yes'),
      confirm: ttyConfirm,
      show: (text) => io.stderr(`crustcore: ${text}\n`),
    },
  });
  if (!outcome.ok) {
    const { code, message } = outcome.error;
    if (args.json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    io.stderr(`crustcore: ${message}\n`);
    return code === 'refused' ? ExitCode.failed : ExitCode.usage;
  }
  const { patchText: _patchText, ...json } = outcome.report;
  io.stdout(args.json ? `${JSON.stringify(json)}\n` : renderRunReport(outcome.report));
  return outcome.report.exitCode;
};
