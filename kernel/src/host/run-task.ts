/**
 * `crustcore run` end to end: every step is a fact appended to the task's log and folded through
 * the core's `step`; the host only performs the actions `step` returns. A candidate change is a
 * claim: the kernel derives the patch itself, applies it to a fresh attempt tree, runs the user's
 * verify command there in the sandbox, and only a clean pass mints a `VerifiedPatch`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  applyPatchToTree,
  createAttemptTree,
  derivePatch,
  deriveWorkingTreePatch,
  manifestChanges,
  removeStaleAttempts,
  resolveBase,
  resolveRepo,
  type Attempt,
  type AttemptLayout,
  type ChangeRejection,
  type DerivedPatch,
  type DeriveResult,
  type GitError,
  type RepoInfo,
} from '../attempt/index.js';
import {
  assertNever,
  isInFlight,
  Limits,
  type Action,
  type Integrity,
  type Task,
  type TaskVerdict,
  taskVerdict,
} from '../core/index.js';
import { anchorKeyName } from '../log/index.js';
import { LogWriter } from '../log/log-writer.js';
import { issueReceipt, receiptsKeyName, type Receipt } from '../log/receipts.js';
import { probeBackend, type SandboxBackend, type SandboxResult } from '../sandbox/index.js';
import {
  contentReader,
  judgeIntegrity,
  runVerifyInSandbox,
  sealVerifiedPatch,
  type GateRun,
  type SandboxChoice,
  withRunIntegrity,
  secretsInPatch,
  withSecretIntegrity,
} from '../verify/gate.js';
import type { ProtectedViolation } from '../verify/protected-paths.js';
import type { VerifiedPatch } from '../verify/verified-patch.js';
import { AgentRunner, type ModelCandidate } from './agent-loop.js';
import { requestApproval } from './approval-flow.js';
import { checkNewBranch, commitToNewBranch, storePatch, writeFileAtomic } from './deliver.js';
import { describeHidden, flagHiddenText } from './hidden-text.js';
import { patchSideReaders } from './patch-sides.js';
import { checkBranchDelivery, startRun, type RunPlan, type RunPolicy } from './policy-gate.js';
import { redactEventFields } from './redact-event.js';
import { RedactingTaskDriver } from './redacting-task-driver.js';
import { SecretLimits } from '../secrets/limits.js';
import { activeClean, activeRedactor, activeSecretsBoundary } from './secrets-boundary.js';
import { recoverCrashedTasks } from './recover-crashed.js';
import { StateDir } from './state-dir.js';
import type { TaskDriver } from './task-driver.js';
import { runWorker, workerFeedbackBytesMax, type PreviousAttempt, type WorkerGrant } from './worker.js';

/** Where the candidate change comes from. */
export type CandidateRequest =
  | { readonly kind: 'patch'; readonly patch: Uint8Array; readonly source: string }
  | {
      readonly kind: 'worker';
      readonly command: string;
      readonly grant: WorkerGrant;
      readonly grantNames: readonly string[];
    }
  | { readonly kind: 'workingTree' }
  | ({ readonly kind: 'model' } & ModelCandidate);

/** Everything `crustcore run` was asked to do, already parsed and checked for shape. */
export interface RunRequest {
  readonly repoDir: string;
  readonly verifyCommand: string;
  readonly goal: string;
  readonly candidate: CandidateRequest;
  readonly attemptsMax: number;
  /** The task's model-token budget (`--max-tokens`); absent: `Limits.defaultBudgets.tokens`. */
  readonly tokensMax?: number;
  /**
   * The task's model-cost budget in micros (`--max-cost`); absent: `Limits.defaultBudgets.costMicros`.
   * Only a model candidate with pricing spends cost; the CLI refuses the flag otherwise.
   */
  readonly costMicrosMax?: number;
  readonly baseRev: string;
  readonly timeoutMs: number;
  readonly backend: SandboxBackend;
  readonly backendPath?: string;
  readonly outPath?: string;
  readonly branch?: string;
  readonly allowProtected: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** One line of progress for a person; never parsed. */
  readonly progress: (line: string) => void;
  /**
   * The user's policy (review mode, protected paths, rules file) and how to ask the user; absent
   * means the defaults: no rules file, nothing confirmed before execute.
   */
  readonly policy?: RunPolicy;
}

/** One attempt as the report shows it. */
export interface AttemptReport {
  readonly attempt: number;
  readonly attemptId: string | null;
  readonly outcome: string;
  readonly reason: string | null;
  readonly patchDigest: string | null;
  readonly files: readonly string[];
  readonly verify: {
    readonly exitCode: number | null;
    readonly timedOut: boolean;
    /** Killed once its output passed the task's output budget. */
    readonly outputStopped: boolean;
    readonly durationMs: number;
    readonly outputBytes: number;
    readonly truncated: boolean;
    readonly outputDigest: string;
    /** The end of the (redacted) output, for a person to read. */
    readonly outputTail: string;
  } | null;
}

/** What `run` concluded; `--json` prints exactly this. */
export interface RunReport {
  readonly verdict: TaskVerdict;
  readonly exitCode: number;
  readonly taskId: string;
  readonly repo: string;
  readonly baseCommit: string;
  readonly verifyCommand: string;
  readonly candidate: CandidateRequest['kind'];
  readonly reason: string | null;
  /**
   * The budget that ended the task, when one did: the reducer's code, what the task used (null for
   * wall time, which the log's clock measures) and the task's limit.
   */
  readonly budget: BudgetReport | null;
  readonly attempts: readonly AttemptReport[];
  readonly patch: {
    readonly digest: string;
    readonly files: readonly { readonly path: string; readonly status: string }[];
    readonly bytes: number;
    readonly storedAt: string | null;
    readonly writtenTo: string | null;
  } | null;
  /** The verified (or approval-pending) patch text, for printing. Absent from `--json`. */
  readonly patchText: string | null;
  readonly protectedPaths: readonly ProtectedViolation[];
  readonly acceptedProtected: readonly ProtectedViolation[];
  readonly manifestChanges: readonly string[];
  readonly approvalId: string | null;
  readonly branch: { readonly name: string; readonly commit: string | null; readonly error: string | null } | null;
  readonly risks: readonly string[];
  readonly log: { readonly path: string; readonly headSeq: number; readonly headHash: string };
}

/** Which budget ended a task, as the report gives it. */
export interface BudgetReport {
  readonly code: 'wallMsExceeded' | 'tokensExceeded' | 'costMicrosExceeded' | 'outputBytesExceeded';
  readonly used: number | null;
  readonly limit: number;
}

/** The budget `task` ended on, read from its reason code, usage and budgets; null for any other end. */
function budgetReportOf(task: Task): BudgetReport | null {
  const code = task.reason?.code;
  switch (code) {
    case 'wallMsExceeded':
      return { code, used: null, limit: task.budgets.wallMs };
    case 'tokensExceeded':
      return { code, used: task.usage.tokens, limit: task.budgets.tokens };
    case 'costMicrosExceeded':
      return { code, used: task.usage.costMicros, limit: task.budgets.costMicros };
    case 'outputBytesExceeded':
      return { code, used: task.usage.outputBytes, limit: task.budgets.outputBytes };
    case 'verifyFailed':
    case 'timedOut':
    case 'integrityBroken':
    case 'digestMismatch':
    case 'leaseExpired':
    case 'patchRefused':
    case 'attemptFailed':
    case 'approvalDenied':
    case 'approvalExpired':
    case 'noSandbox':
    case 'crashRecovery':
    case 'cancelled':
    case undefined:
      return null;
    default:
      return assertNever(code);
  }
}

/**
 * A request the kernel will not start, one line, nothing written: `usage` (exit 2) for a bad
 * request or a missing confirmation, `refused` (exit 1) when the policy or the user said no.
 */
export interface RunUsageError {
  readonly code: 'usage' | 'refused';
  readonly message: string;
}

/** Exit codes of `run` by verdict (documented in the README). */
export function exitCodeOf(verdict: TaskVerdict): number {
  switch (verdict) {
    case 'verified':
    case 'integrated':
      return 0;
    case 'needs-approval':
      return 4;
    case 'refused':
      return 3;
    case 'rejected':
    case 'failed':
    case 'cancelled':
    case 'budget-exhausted':
    case 'running':
      return 1;
    default:
      return assertNever(verdict);
  }
}

/** A task id: sortable by time, unguessable by its random half. */
function newTaskId(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return `t${stamp}-${randomBytes(6).toString('hex')}`;
}

function isRejection(error: ChangeRejection | GitError): error is ChangeRejection {
  return 'path' in error;
}

function describeDeriveError(error: ChangeRejection | GitError): { code: string; detail: string } {
  if (isRejection(error)) return { code: error.code, detail: error.path };
  return { code: error.code === 'gitFailed' ? 'patchDoesNotApply' : error.code, detail: error.detail };
}

/** Bounds of the host's own timing. */
export const HostLimits = {
  /** Names listed in one progress line before the rest is cut to `…`. */
  namesShownMax: 8,
  /** A verify job's lease; renewed by a heartbeat while the sandboxed run is alive. */
  verifyLeaseMs: 120_000,
  verifyHeartbeatMs: 30_000,
} as const;

/** Per-attempt facts the host keeps beside the core's state (trees, bytes, outputs). */
interface AttemptContext {
  attempt: number;
  verifyTree: Attempt | null;
  derived: DerivedPatch | null;
  run: GateRun | null;
  startedAtMs: number;
  outputTail: string;
}

/** Runs one task to its verdict. Never throws for an operating failure; a thrown error is a bug. */
export async function runTask(
  request: RunRequest,
): Promise<{ ok: true; report: RunReport } | { ok: false; error: RunUsageError }> {
  if (request.verifyCommand.trim() === '') {
    return {
      ok: false,
      error: {
        code: 'usage',
        message: "the verify command is empty; pass --verify '<command>' (e.g. --verify 'npm test')",
      },
    };
  }
  const repoResult = await resolveRepo(request.repoDir);
  if (!repoResult.ok) {
    return {
      ok: false,
      error: {
        code: 'usage',
        message: `${request.repoDir} is not a git repository (${repoResult.error.detail}); pass --dir <repo>`,
      },
    };
  }
  const repo: RepoInfo = repoResult.repo;
  const base = await resolveBase(repo, request.baseRev);
  if (!base.ok) {
    return {
      ok: false,
      error: { code: 'usage', message: `unknown --base '${request.baseRev}': ${base.error.detail}` },
    };
  }
  if (request.branch !== undefined) {
    // A branch name is recorded and printed as an id, never rewritten: one holding a secret is refused.
    if (activeClean(request.branch) !== request.branch) {
      return {
        ok: false,
        error: {
          code: 'usage',
          message: '--branch: the name holds a secret, a token or hidden characters; choose another name',
        },
      };
    }
    const unusable = await checkNewBranch(repo, request.branch);
    if (unusable !== null) return { ok: false, error: { code: 'usage', message: `--branch: ${unusable.detail}` } };
  }
  // The policy is applied before the state dir or a log is touched: a refusal leaves no trace.
  let policyRisks: readonly string[] = [];
  if (request.policy !== undefined) {
    const started = await startRun(request.policy, runPlanOf(request, repo.topLevel, base.commit));
    if (!started.ok) return { ok: false, error: { code: started.code, message: started.message } };
    policyRisks = started.risks;
  }
  const risks = risksOf(request, policyRisks);
  if (risks.length > Limits.risksMax) {
    return {
      ok: false,
      error: {
        code: 'usage',
        message: `the run would record ${risks.length} risks, more than ${Limits.risksMax}; pass fewer --allow-protected or --worker-env, or narrow protectedPaths.allow in the config`,
      },
    };
  }
  let stateDir: StateDir;
  try {
    stateDir = StateDir.open(request.env);
  } catch (error) {
    return { ok: false, error: { code: 'usage', message: (error as Error).message } };
  }
  const repoState = stateDir.repoDir(repo.topLevel);
  for (const id of removeStaleAttempts(repoState))
    request.progress(`removed attempt ${id} left behind by a crashed run`);
  for (const recovery of recoverCrashedTasks(stateDir, repoState, Date.now())) {
    request.progress(
      recovery.outcome === 'failed'
        ? `task ${recovery.taskId} was cut short by a crash; recorded as failed (crashRecovery) in ${recovery.logPath}`
        : `task ${recovery.taskId} was cut short by a crash and its log cannot be reopened (${recovery.reason})`,
    );
  }

  const nowMs = Date.now();
  const taskId = newTaskId(nowMs);
  const logsDir = join(repoState, 'logs');
  mkdirSync(logsDir, { recursive: true, mode: 0o700 });
  const writer = LogWriter.create(join(logsDir, `${taskId}.jsonl`), {
    anchorKey: stateDir.loadOrCreateKey(anchorKeyName),
    durability: 'batch',
    nowMs,
    redactEvent: (event) => redactEventFields(event as { readonly kind: string }, activeClean),
  });
  const receiptsKey = stateDir.loadOrCreateKey(receiptsKeyName);
  const driver = new RedactingTaskDriver(writer, activeClean, activeSecretsBoundary());
  const runner = new TaskRunner(
    request,
    repo,
    repoState,
    base.commit,
    taskId,
    driver,
    receiptsKey,
    stateDir.path,
    risks,
  );
  try {
    return { ok: true, report: await runner.run() };
  } finally {
    runner.cleanUp();
  }
}

/** What the user sees before confirming a run. */
function runPlanOf(request: RunRequest, repo: string, baseCommit: string): RunPlan {
  const candidate = request.candidate;
  let candidateText: string;
  let grants: readonly string[] = [];
  switch (candidate.kind) {
    case 'patch':
      candidateText = `the patch ${candidate.source}`;
      break;
    case 'workingTree':
      candidateText = 'your uncommitted changes';
      break;
    case 'model':
      candidateText = `the model ${candidate.label}, acting through the kernel's tools`;
      break;
    case 'worker':
      candidateText = `the worker '${candidate.command}', run in the sandbox`;
      grants = [...(candidate.grant.network ? ['network'] : []), ...candidate.grantNames.map((name) => `env ${name}`)];
      break;
    default:
      return assertNever(candidate);
  }
  return {
    repo,
    baseCommit,
    candidate: candidate.kind,
    candidateText,
    verifyCommand: request.verifyCommand,
    attemptsMax: request.attemptsMax,
    grants,
    branch: request.branch ?? null,
  };
}

/**
 * What the user let untrusted code do beyond the defaults, and the policy decisions that let the
 * run start, one line each, for `taskCreated.risks`.
 */
function risksOf(request: RunRequest, policyRisks: readonly string[]): string[] {
  const risks: string[] = [];
  if (request.candidate.kind === 'worker') {
    if (request.candidate.grant.network) risks.push('worker-network: the worker may reach the network');
    for (const name of request.candidate.grantNames) risks.push(`worker-env: the worker sees $${name}`);
  }
  for (const glob of request.allowProtected) risks.push(`allow-protected: ${glob}`);
  for (const glob of request.policy?.policy.protectedAllow ?? []) risks.push(`allow-protected (config): ${glob}`);
  const hidden = flagHiddenText(request.goal);
  if (hidden.total > 0) risks.push(`goal: hidden text escaped (${describeHidden(hidden.counts)})`);
  risks.push(...policyRisks);
  return risks;
}

/** Performs the actions of one task's log. */
class TaskRunner {
  readonly #request: RunRequest;
  readonly #repo: RepoInfo;
  readonly #repoState: string;
  readonly #baseCommit: string;
  readonly #taskId: string;
  readonly #driver: TaskDriver;
  readonly #receiptsKey: ReturnType<StateDir['loadOrCreateKey']>;
  readonly #sandbox: SandboxChoice;
  /** The kernel state dir: where the sandbox probe's proof is kept. */
  readonly #stateRoot: string;
  readonly #attempts = new Map<number, AttemptContext>();
  readonly #redactor = activeRedactor();
  #agent: AgentRunner | null = null;
  readonly #risks: readonly string[];
  /** Set when the policy kept `--branch` from being written: the run then exits 1. */
  #deliveryRefused = false;
  #receipt: Receipt | null = null;
  #workingTreePatch: DeriveResult | null = null;
  #verified: VerifiedPatch | null = null;
  #storedAt: string | null = null;
  #writtenTo: string | null = null;
  #approvalId: string | null = null;
  #branch: { name: string; commit: string | null; error: string | null } | null = null;

  constructor(
    request: RunRequest,
    repo: RepoInfo,
    repoState: string,
    baseCommit: string,
    taskId: string,
    driver: TaskDriver,
    receiptsKey: ReturnType<StateDir['loadOrCreateKey']>,
    stateRoot: string,
    risks: readonly string[],
  ) {
    this.#request = request;
    this.#repo = repo;
    this.#repoState = repoState;
    this.#baseCommit = baseCommit;
    this.#taskId = taskId;
    this.#driver = driver;
    this.#receiptsKey = receiptsKey;
    this.#stateRoot = stateRoot;
    const home = request.env['HOME'] ?? homedir();
    this.#sandbox = {
      backend: request.backend,
      ...(request.backendPath === undefined ? {} : { backendPath: request.backendPath }),
      timeoutMs: request.timeoutMs,
      hostPath: request.env['PATH'] ?? '/usr/bin:/bin',
      hostHome: home,
      denyPaths: [stateRoot],
    };
    this.#risks = risks;
  }

  async run(): Promise<RunReport> {
    const request = this.#request;
    // A proof of enforcement is kept in the state dir for the same backend binary and kernel.
    const probe = await probeBackend(request.backend, request.backendPath, { cacheDir: this.#stateRoot });
    const queue: Action[] = [
      ...this.#driver.emit({
        kind: 'taskCreated',
        taskId: this.#taskId,
        goal: request.goal,
        baseCommit: this.#baseCommit,
        verifyCommand: request.verifyCommand,
        candidate: request.candidate.kind,
        budgets: {
          attempts: request.attemptsMax,
          wallMs: request.timeoutMs * (request.attemptsMax * 2 + 1),
          ...(request.tokensMax === undefined ? {} : { tokens: request.tokensMax }),
          ...(request.costMicrosMax === undefined ? {} : { costMicros: request.costMicrosMax }),
        },
        ...(this.#risks.length === 0 ? {} : { risks: this.#risks }),
      }),
    ];
    if (!probe.ok) {
      request.progress(`refused: no working sandbox (${probe.detail})`);
      queue.push(
        ...this.#driver.emit({
          kind: 'sandboxUnavailable',
          taskId: this.#taskId,
          reason: `${probe.code}: ${probe.detail}`,
        }),
      );
    }
    while (queue.length > 0) {
      const action = queue.shift();
      if (action !== undefined) queue.push(...(await this.#perform(action)));
    }
    return this.#report();
  }

  /** Removes every attempt tree this run made, whatever happened. */
  cleanUp(): void {
    this.#agent?.dispose();
    for (const context of this.#attempts.values()) context.verifyTree?.remove();
    this.#driver.abandon();
  }

  #task(): Task {
    const task = this.#driver.task(this.#taskId);
    if (task === undefined) throw new Error(`task ${this.#taskId} is missing from the kernel state`);
    return task;
  }

  /**
   * The task's output budget not yet charged: a sandboxed run is stopped once its output passes
   * it, and the charge that follows ends the task `outputBytesExceeded`. At least 1 (the spec's floor).
   */
  #outputBytesLeft(): number {
    const task = this.#task();
    return Math.max(1, task.budgets.outputBytes - task.usage.outputBytes);
  }

  #isTerminalOrWaiting(): boolean {
    const verdict = taskVerdict(this.#task());
    return verdict !== 'running';
  }

  async #perform(action: Action): Promise<readonly Action[]> {
    switch (action.kind) {
      case 'startAttempt':
        if (this.#isTerminalOrWaiting()) return [];
        return this.#startAttempt(action.attempt);
      case 'runVerify':
        return this.#runVerify(action.attempt, action.patchDigest);
      case 'deliverPatch':
        return this.#deliver(action.patchDigest);
      case 'removeAttempt':
        this.#attempts.get(action.attempt)?.verifyTree?.remove();
        return [];
      case 'requestApproval':
        return this.#requestApproval(action.purpose, action.patchDigest, action.branch);
      case 'integratePatch':
        return this.#integrate(action.branch);
      case 'killJob':
        // Verify runs are awaited to their end (the sandbox kills the whole tree on timeout), so
        // no job outlives its action; the kill is recorded by the event that caused it.
        return [];
      case 'reportRefusal':
        this.#request.progress(`kernel refused an event: ${action.reason} (${action.detail})`);
        return [];
      default:
        return assertNever(action);
    }
  }

  async #startAttempt(attempt: number): Promise<readonly Action[]> {
    const request = this.#request;
    const context: AttemptContext = {
      attempt,
      verifyTree: null,
      derived: null,
      run: null,
      startedAtMs: Date.now(),
      outputTail: '',
    };
    this.#attempts.set(attempt, context);
    request.progress(`attempt ${attempt}: preparing a fresh tree at ${this.#baseCommit.slice(0, 12)}`);
    // Trees the kernel alone writes (a patch applied by the kernel) are overlays of the pristine
    // tree; a tree a worker or a model edits is a full copy, whose changes the kernel can read.
    const candidate = request.candidate;
    const kind = candidate.kind;
    const first = await this.#createTree(attempt, kind === 'patch' || kind === 'workingTree' ? 'overlay' : 'copy');
    if (!first.ok) return first.actions;
    this.#driver.emit({ kind: 'attemptStarted', taskId: this.#taskId, attempt, attemptId: first.tree.id });

    let patchBytes: Uint8Array;
    let verifyTree: Attempt = first.tree;
    switch (candidate.kind) {
      case 'patch':
        patchBytes = candidate.patch;
        break;
      case 'workingTree': {
        this.#workingTreePatch ??= await deriveWorkingTreePatch({
          repoDir: this.#repo,
          baseCommit: this.#baseCommit,
          stateDir: this.#repoState,
        });
        const derived = this.#workingTreePatch;
        if (!derived.ok) {
          first.tree.remove();
          return this.#refuse(attempt, derived.error);
        }
        const leftOut = derived.patch.leftOut ?? [];
        if (attempt === 1 && leftOut.length > 0) {
          request.progress(
            `left out ${leftOut.length} nested repositor${leftOut.length === 1 ? 'y' : 'ies'} (not part of this repository's change): ${leftOut.slice(0, HostLimits.namesShownMax).join(', ')}${leftOut.length > HostLimits.namesShownMax ? ', …' : ''}`,
          );
        }
        patchBytes = derived.patch.patch;
        break;
      }
      case 'model': {
        // As for a worker: the model's tree is dropped once the kernel derived the patch from it.
        this.#agent ??= new AgentRunner(candidate, {
          taskId: this.#taskId,
          goal: activeClean(request.goal),
          verifyCommand: activeClean(request.verifyCommand),
          attemptsMax: request.attemptsMax,
          emit: (fact) => this.#driver.emit(fact),
          task: () => this.#task(),
          redact: (text) => flagHiddenText(this.#redactor.redact(text)).text,
          progress: request.progress,
          headSeq: () => this.#driver.head.seq,
          receipts: {
            key: this.#receiptsKey,
            logId: this.#driver.logId,
            last: () => this.#receipt,
            append: (receipt) => {
              this.#receipt = receipt;
            },
          },
        });
        let produced: Awaited<ReturnType<AgentRunner['runAttempt']>>;
        try {
          produced = await this.#agent.runAttempt(first.tree, attempt, this.#previousFeedback(attempt));
        } finally {
          first.tree.remove();
        }
        if (!produced.ok) return produced.actions;
        const second = await this.#createTree(attempt, 'overlay');
        if (!second.ok) return second.actions;
        patchBytes = produced.patch;
        verifyTree = second.tree;
        break;
      }
      case 'worker': {
        // The worker's tree is thrown away once the kernel has derived the patch from it; verify
        // then runs in a second fresh tree that holds only that patch.
        const produced = await this.#runWorkerAttempt(first.tree, attempt, candidate.command, candidate.grant);
        if (!produced.ok) return produced.actions;
        const second = await this.#createTree(attempt, 'overlay');
        if (!second.ok) return second.actions;
        patchBytes = produced.patch;
        verifyTree = second.tree;
        break;
      }
      default:
        return assertNever(candidate);
    }

    context.verifyTree = verifyTree;
    const applied = await applyPatchToTree(verifyTree, patchBytes);
    if (!applied.ok) return this.#refuse(attempt, applied.error);
    context.derived = applied.patch;
    if (applied.patch.files.length === 0) {
      return this.#attemptFailed(attempt, 'emptyPatch', 'the candidate changes nothing; there is nothing to verify');
    }
    request.progress(
      `attempt ${attempt}: patch ${applied.patch.digest.slice(0, 12)} changes ${applied.patch.files.length} file(s): ${applied.patch.files.map((f) => f.path).join(', ')}`,
    );
    return this.#driver.emit({
      kind: 'patchDerived',
      taskId: this.#taskId,
      attempt,
      patchDigest: applied.patch.digest,
      files: applied.patch.files.map((f) => f.path),
      patchBytes: applied.patch.bytes,
    });
  }

  async #createTree(
    attempt: number,
    layout: AttemptLayout,
  ): Promise<{ ok: true; tree: Attempt } | { ok: false; actions: readonly Action[] }> {
    const created = await createAttemptTree({
      repoDir: this.#repo,
      baseCommit: this.#baseCommit,
      stateDir: this.#repoState,
      layout,
    });
    if (!created.ok) return { ok: false, actions: this.#attemptFailed(attempt, 'treeFailed', created.error.detail) };
    return { ok: true, tree: created.attempt };
  }

  #refuse(attempt: number, error: ChangeRejection | GitError): readonly Action[] {
    const { code, detail } = describeDeriveError(error);
    this.#request.progress(`attempt ${attempt}: candidate refused: ${code}: ${detail}`);
    if (isRejection(error)) {
      return this.#driver.emit({ kind: 'patchRefused', taskId: this.#taskId, attempt, code, detail });
    }
    return this.#driver.emit({ kind: 'attemptFailed', taskId: this.#taskId, attempt, code, detail });
  }

  async #runWorkerAttempt(
    tree: Attempt,
    attempt: number,
    command: string,
    grant: WorkerGrant,
  ): Promise<{ ok: true; patch: Uint8Array } | { ok: false; actions: readonly Action[] }> {
    try {
      this.#request.progress(`attempt ${attempt}: running the worker in the sandbox`);
      const previous = this.#previousFeedback(attempt);
      const result = await runWorker({
        attempt: tree,
        repoDir: this.#repo.topLevel,
        command,
        grant,
        sandbox: { ...this.#sandbox, outputBytesStop: this.#outputBytesLeft() },
        contract: {
          contract: 'crustcore.worker/1',
          goal: activeClean(this.#request.goal),
          attempt,
          attemptsMax: this.#request.attemptsMax,
          baseCommit: this.#baseCommit,
          verifyCommand: activeClean(this.#request.verifyCommand),
          previous,
        },
      });
      if (!result.ok) {
        return { ok: false, actions: this.#attemptFailed(attempt, result.error.code, result.error.detail) };
      }
      const run = result.result;
      if (run.outputStopped) {
        this.#request.progress(
          `attempt ${attempt}: the worker was stopped at the output budget after ${run.output.totalBytes} bytes`,
        );
      }
      // The worker's output counts against the task's output budget, as verify's does.
      const charged = this.#driver.emit({
        kind: 'usageCharged',
        taskId: this.#taskId,
        tokens: 0,
        costMicros: 0,
        outputBytes: run.output.totalBytes,
      });
      if (!isInFlight(this.#task().status)) return { ok: false, actions: charged };
      if (run.timedOut || run.exitCode !== 0) {
        // A worker stopped at the output budget never gets here: its charge has ended the task.
        const how = run.timedOut ? `timed out after ${this.#request.timeoutMs} ms` : `exited with ${describeExit(run)}`;
        return {
          ok: false,
          actions: this.#attemptFailed(attempt, 'workerFailed', `the worker ${how}: ${this.#tail(run, 300)}`),
        };
      }
      const derived = await derivePatch(tree);
      if (!derived.ok) return { ok: false, actions: this.#refuse(attempt, derived.error) };
      return { ok: true, patch: derived.patch.patch };
    } finally {
      tree.remove();
    }
  }

  #attemptFailed(attempt: number, code: string, detail: string): readonly Action[] {
    this.#request.progress(`attempt ${attempt}: failed: ${detail}`);
    return this.#driver.emit({ kind: 'attemptFailed', taskId: this.#taskId, attempt, code, detail });
  }

  #previousFeedback(attempt: number): PreviousAttempt | null {
    const previous = this.#attempts.get(attempt - 1);
    if (previous === undefined) return null;
    const record = this.#task().attempts.find((a) => a.attempt === attempt - 1);
    const outcome = record?.outcome;
    const reason =
      outcome !== undefined && 'reason' in outcome ? `${outcome.reason.code}: ${outcome.reason.detail}` : 'failed';
    return {
      attempt: attempt - 1,
      exitCode: previous.run?.result.exitCode ?? null,
      timedOut: previous.run?.result.timedOut ?? false,
      reason: this.#redactor.redact(reason),
      output: previous.outputTail,
    };
  }

  /**
   * The redacted end of a run's output with hidden text escaped, bounded by `charsMax` characters.
   * The whole output is redacted before it is cut, so a cut never splits a secret; a truncated
   * tail loses its leading fragment, which may be the end of a secret whose start was dropped.
   */
  #tail(run: SandboxResult, charsMax: number): string {
    const text = run.output.truncated ? dropCutToken(run.output.tail) : run.output.head + run.output.tail;
    const clean = flagHiddenText(this.#redactor.redact(text)).text;
    return clean.length <= charsMax ? clean : clean.slice(-charsMax);
  }

  async #runVerify(attempt: number, patchDigest: string): Promise<readonly Action[]> {
    const context = this.#attempts.get(attempt);
    const tree = context?.verifyTree ?? null;
    const derived = context?.derived ?? null;
    if (context === undefined || tree === null || derived === null || derived.digest !== patchDigest) {
      throw new Error(`runVerify for attempt ${attempt} has no matching derived patch`);
    }
    const base = await this.#baseContents(tree, derived);
    const policy = this.#request.policy?.policy;
    const { integrity: patchIntegrity, acceptedProtected } = judgeIntegrity(derived, {
      allow: [...this.#request.allowProtected, ...(policy?.protectedAllow ?? [])],
      read: contentReader(base, tree.treeDir),
      extraRules: policy?.protectedExtra ?? [],
    });
    // Scanned before verify runs (verify may rewrite the tree): a secret or token the patch adds is never delivered.
    const secretHits = secretsInPatch(derived, {
      redact: (text) => this.#redactor.redact(text),
      ...patchSideReaders(base, tree.treeDir),
    });
    const jobId = randomBytes(8).toString('hex');
    const started = this.#driver.emit({
      kind: 'verifyStarted',
      taskId: this.#taskId,
      attempt,
      jobId,
      leaseMs: HostLimits.verifyLeaseMs,
    });
    if (this.#task().status !== 'verifying') return started;
    this.#request.progress(`attempt ${attempt}: verifying with '${this.#request.verifyCommand}' in the sandbox`);
    context.startedAtMs = Date.now();
    // The lease is short and renewed while the run is alive, so a kernel that died mid-verify
    // leaves an expired job in the log, never a pass.
    const heartbeat = setInterval(
      () => this.#driver.emit({ kind: 'jobHeartbeat', jobId }),
      HostLimits.verifyHeartbeatMs,
    );
    let outcome: Awaited<ReturnType<typeof runVerifyInSandbox>>;
    try {
      outcome = await runVerifyInSandbox({
        attempt: tree,
        repoDir: this.#repo.topLevel,
        verifyCommand: this.#request.verifyCommand,
        sandbox: { ...this.#sandbox, outputBytesStop: this.#outputBytesLeft() },
      });
    } finally {
      clearInterval(heartbeat);
    }
    if (!outcome.ok) return this.#attemptFailed(attempt, outcome.error.code, outcome.error.detail);
    const result = outcome.result;
    // A run that hit the process limit never passes, whatever its exit code.
    const integrity = withRunIntegrity(withSecretIntegrity(patchIntegrity, secretHits), result);
    context.run = { result, integrity, acceptedProtected };
    context.outputTail = this.#tail(result, workerFeedbackBytesMax);
    const status = result.timedOut
      ? 'timed out'
      : result.outputStopped
        ? `stopped at the output budget after ${result.output.totalBytes} bytes`
        : `exit ${describeExit(result)}`;
    this.#request.progress(
      `attempt ${attempt}: verify ${status} in ${result.durationMs} ms${describeIntegrity(integrity)}`,
    );
    const actions = this.#driver.emit({
      kind: 'verifyFinished',
      taskId: this.#taskId,
      attempt,
      jobId,
      patchDigest,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      outputBytes: result.output.totalBytes,
      outputDigest: result.outputDigest,
      durationMs: result.durationMs,
      integrity,
    });
    this.#receipt = issueReceipt(
      this.#receiptsKey,
      this.#driver.logId,
      this.#receipt,
      this.#driver.head.seq,
      result.outputDigest,
    );
    return actions;
  }

  /** Base-side text of the modified files, for the content-aware protected rules. */
  async #baseContents(tree: Attempt, derived: DerivedPatch): Promise<Map<string, Buffer>> {
    const wanted = new Set(derived.files.filter((f) => f.status === 'modified' && !f.binary).map((f) => f.path));
    const contents = new Map<string, Buffer>();
    if (wanted.size === 0) return contents;
    const entries = (await tree.view.listTree(this.#baseCommit)).filter((entry) => wanted.has(entry.path));
    const blobs = await tree.view.readBlobs(entries.map((entry) => entry.oid));
    for (const entry of entries) {
      const blob = blobs.get(entry.oid);
      if (blob !== undefined) contents.set(entry.path, blob);
    }
    return contents;
  }

  #currentContext(patchDigest: string): AttemptContext {
    for (const context of this.#attempts.values())
      if (context.derived?.digest === patchDigest && context.run !== null) return context;
    throw new Error(`no verified attempt carries patch ${patchDigest}`);
  }

  async #deliver(patchDigest: string): Promise<readonly Action[]> {
    const context = this.#currentContext(patchDigest);
    const derived = context.derived;
    const run = context.run;
    if (derived === null || run === null || this.#receipt === null) throw new Error('deliverPatch before a verify run');
    const sealed = sealVerifiedPatch({
      taskId: this.#taskId,
      patch: derived,
      verifyCommand: this.#request.verifyCommand,
      // An approved protected patch is delivered as verified: the approval is the integrity answer.
      run: { ...run, integrity: { verdict: 'clean' } },
      receipt: this.#receipt.mac,
      startedAtMs: context.startedAtMs,
      finishedAtMs: Date.now(),
    });
    if (!sealed.ok) throw new Error(`the kernel verified a patch the gate will not seal: ${sealed.refusal.detail}`);
    this.#verified = sealed.patch;
    this.#storedAt = storePatch(this.#repoState, sealed.patch);
    if (this.#request.outPath !== undefined) {
      writeFileAtomic(this.#request.outPath, sealed.patch.patch, 0o644);
      this.#writtenTo = this.#request.outPath;
    }
    this.#request.progress(`verified: patch ${patchDigest.slice(0, 12)} stored at ${this.#storedAt}`);
    if (this.#request.branch === undefined) return [];
    return this.#driver.emit({
      kind: 'integrationRequested',
      taskId: this.#taskId,
      branch: this.#request.branch,
      mode: 'newBranch',
    });
  }

  async #integrate(branch: string): Promise<readonly Action[]> {
    const verified = this.#verified;
    if (verified === null) throw new Error('integratePatch before a VerifiedPatch exists');
    if (this.#request.policy !== undefined) {
      // The rules are asked again with the verified patch's paths, before the branch exists.
      const checked = await checkBranchDelivery(this.#request.policy, branch, verified.files);
      if (!checked.ok) {
        this.#deliveryRefused = true;
        this.#branch = { name: branch, commit: null, error: checked.reason };
        this.#request.progress(`branch '${branch}' not created: ${checked.reason}`);
        return this.#driver.emit({ kind: 'integrationFailed', taskId: this.#taskId, reason: checked.reason });
      }
      for (const line of checked.lines) this.#request.progress(line);
    }
    const result = await commitToNewBranch({
      repo: this.#repo,
      branch,
      patch: verified,
      message: `${this.#request.goal === '' ? 'Verified change' : activeClean(this.#request.goal)}\n\nVerified by crustcore: '${activeClean(this.#request.verifyCommand)}' passed on a fresh tree.\nTask: ${this.#taskId}\nPatch: sha256:${verified.patchDigest}\n`,
      scratchDir: join(this.#repoState, 'scratch'),
    });
    if (!result.ok) {
      this.#branch = { name: branch, commit: null, error: result.error.detail };
      this.#request.progress(`branch '${branch}' not created: ${result.error.detail}`);
      return this.#driver.emit({
        kind: 'integrationFailed',
        taskId: this.#taskId,
        reason: `${result.error.code}: ${result.error.detail}`,
      });
    }
    this.#branch = { name: branch, commit: result.commit, error: null };
    this.#request.progress(`committed onto new branch '${branch}' at ${result.commit.slice(0, 12)}`);
    return this.#driver.emit({ kind: 'integrationFinished', taskId: this.#taskId, branch, commit: result.commit });
  }

  #requestApproval(
    purpose: 'acceptProtected' | 'integrate',
    patchDigest: string,
    branch: string | null,
  ): readonly Action[] {
    const derived = this.#currentContext(patchDigest).derived;
    const requested = requestApproval({
      stateDir: StateDir.open(this.#request.env),
      repoDir: this.#repo.topLevel,
      repoState: this.#repoState,
      driver: this.#driver,
      action: { kind: 'requestApproval', taskId: this.#taskId, purpose, patchDigest, branch },
      files: derived?.files.map((f) => f.path) ?? [],
      patch: derived?.patch ?? null,
      nowMs: Date.now(),
      // The `--branch` rides on the approval, bound to its digest, and is created when it is granted.
      newBranch: purpose === 'acceptProtected' ? (this.#request.branch ?? null) : null,
    });
    this.#approvalId = requested.approvalId;
    if (purpose === 'acceptProtected' && this.#request.branch !== undefined) {
      this.#request.progress(
        `branch '${this.#request.branch}' is created when approval ${requested.approvalId} is granted`,
      );
    }
    return requested.actions;
  }

  #report(): RunReport {
    const task = this.#task();
    const verdict = taskVerdict(task);
    const attempts: AttemptReport[] = task.attempts.map((record) => {
      const context = this.#attempts.get(record.attempt);
      const run = context?.run ?? null;
      const outcome = record.outcome;
      return {
        attempt: record.attempt,
        attemptId: record.attemptId,
        outcome: outcome.verdict,
        reason: 'reason' in outcome ? `${outcome.reason.code}: ${outcome.reason.detail}` : null,
        patchDigest: record.patchDigest,
        files: context?.derived?.files.map((f) => f.path) ?? [],
        verify:
          run === null
            ? null
            : {
                exitCode: run.result.exitCode,
                timedOut: run.result.timedOut,
                outputStopped: run.result.outputStopped,
                durationMs: run.result.durationMs,
                outputBytes: run.result.output.totalBytes,
                truncated: run.result.output.truncated,
                outputDigest: run.result.outputDigest,
                outputTail: context?.outputTail.slice(-2000) ?? '',
              },
      };
    });
    const last = [...this.#attempts.values()].filter((c) => c.derived !== null).at(-1);
    const derived = last?.derived ?? null;
    const shownPatch =
      verdict === 'verified' || verdict === 'integrated' || verdict === 'needs-approval' ? derived : null;
    const integrity = last?.run?.integrity;
    // The final checkpoint belongs to the log the report points at, so the log is closed first.
    this.#driver.close();
    const head = this.#driver.head;
    const reason =
      task.reason === null || task.reason === undefined ? null : `${task.reason.code}: ${task.reason.detail}`;
    const report: RunReport = {
      verdict,
      exitCode: this.#deliveryRefused ? 1 : exitCodeOf(verdict),
      taskId: this.#taskId,
      repo: this.#repo.topLevel,
      baseCommit: this.#baseCommit,
      verifyCommand: this.#request.verifyCommand,
      candidate: this.#request.candidate.kind,
      reason: this.#redactor.redact(reason ?? '') || null,
      budget: budgetReportOf(task),
      attempts,
      patch:
        shownPatch === null
          ? null
          : {
              digest: shownPatch.digest,
              files: shownPatch.files.map((f) => ({ path: f.path, status: f.status })),
              bytes: shownPatch.bytes,
              storedAt: this.#storedAt,
              writtenTo: this.#writtenTo,
            },
      patchText: shownPatch === null ? null : Buffer.from(shownPatch.patch).toString('utf8'),
      protectedPaths: integrity?.verdict === 'protected' ? integrity.violations : [],
      acceptedProtected: last?.run?.acceptedProtected ?? [],
      manifestChanges: derived === null ? [] : manifestChanges(derived.files),
      approvalId: verdict === 'needs-approval' ? this.#approvalId : null,
      branch: this.#branch,
      risks: this.#risks,
      log: { path: this.#driver.logPath, headSeq: head.seq, headHash: head.hash },
    };
    return report;
  }
}

function describeIntegrity(integrity: Integrity): string {
  switch (integrity.verdict) {
    case 'clean':
      return '';
    case 'protected':
      return `; protected paths: ${integrity.violations.map((v) => `${v.path} (${v.rule})`).join(', ')}`;
    case 'broken':
      return `; integrity broken: ${integrity.violations.map((v) => (v.path === '' ? v.rule : `${v.path} (${v.rule})`)).join(', ')}`;
    default:
      return assertNever(integrity);
  }
}

/**
 * Drops the run of non-space characters a truncated tail starts with when it is short enough to be
 * the end of a secret (`SecretLimits.valueCharsMax`): the sandbox cut the output there, so the
 * redactor cannot recognise the secret it belonged to.
 */
function dropCutToken(tail: string): string {
  const fragment = /^\S*/.exec(tail.slice(0, SecretLimits.valueCharsMax + 1))?.[0] ?? '';
  return fragment.length > SecretLimits.valueCharsMax ? tail : tail.slice(fragment.length);
}

function describeExit(run: SandboxResult): string {
  return run.exitCode === null ? `signal ${run.signal ?? 'unknown'}` : String(run.exitCode);
}
