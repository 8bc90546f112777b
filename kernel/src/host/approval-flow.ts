/**
 * Approvals as the host carries them out. When the core asks for one (`requestApproval`), the
 * kernel mints a token bound to the exact action (`computeActionDigest`), files the approval with
 * a readable summary in the repo's `ApprovalStore`, keeps the token in a 0600 ticket beside it
 * (never in the repo, never shown), and records `approvalRequested`. A decision is honoured only
 * from the user, through the CLI (a terminal answer or `--yes`), for the approval the task awaits,
 * bound to the action digest recomputed from the log, before expiry, once; anything else is
 * refused with the reason and changes nothing on disk.
 *
 * A protected patch of a run that asked for `--branch <name>` is approved together with that new
 * branch: the approval's action digest then covers both the acceptance and the `writeNewBranch`
 * of that name (see `approvalDigestOf`), so a ticket edited to name another branch no longer
 * matches the digest the log and the token carry, and is refused like any other tampering.
 *
 * Key handling: the policy functions take raw key bytes, while the state dir hands out only a
 * sealed `MacKey`. The approval-minting key is therefore a purpose-bound subkey, HMAC(state-dir
 * key `approvals`, domain tag), so the stored key itself never leaves its `MacKey`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  approvalOf,
  assertNever,
  type Action,
  type ActionOf,
  type ApprovalPurpose,
  type AwaitedApproval,
  type Task,
} from '../core/index.js';
import {
  approvalChannels,
  ApprovalStore,
  canonicalJson,
  checkApproval,
  computeActionDigest,
  isApprovalId,
  mintApproval,
  newApprovalRandomId,
  PolicyLimits,
  type ActionDescriptor,
  type ActionDigest,
  type ApprovalActor,
  type ApprovalChannel,
  type ApprovalRecord,
  type ApprovalRefusalCode,
  type ApprovalStatus,
} from '../policy/index.js';
import { writeFileAtomic } from './deliver.js';
import { readKeptPatch, ResumedTask } from './resume-task.js';
import type { StateDir } from './state-dir.js';
import type { TaskDriver } from './task-driver.js';

/** Bounds and defaults of the approval flow. */
export const ApprovalFlowLimits = {
  /** How long an approval stays valid unless the caller asks for less. */
  ttlMs: 7 * 24 * 60 * 60 * 1000,
  /** Bytes of a ticket file. */
  ticketBytesMax: 64 * 1024,
} as const;

/** The state-dir key the approval-minting subkey is derived from. */
export const approvalsKeyName = 'approvals';

const subkeyDomain = 'crustcore/approval-minting-key/v1';
// Domain separation: a combined digest never equals the digest of a single action.
const combinedDomain = 'crustcore/approval-actions/v1\n';
const ticketVersion = 1;

/** The approvals folder of a repo's state folder. */
export function approvalsDirOf(repoState: string): string {
  return join(repoState, 'approvals');
}

function ticketPathOf(repoState: string, approvalId: string): string {
  return join(approvalsDirOf(repoState), 'tickets', `${approvalId}.json`);
}

function approvalKeyBytes(stateDir: StateDir): Uint8Array {
  return Buffer.from(stateDir.loadOrCreateKey(approvalsKeyName).hmacHex(subkeyDomain), 'hex');
}

/** What the kernel keeps beside an approval: the token and where the evidence lives. */
export interface ApprovalTicket {
  readonly version: 1;
  readonly approvalId: string;
  /** The minted token; only the kernel reads it. */
  readonly token: string;
  readonly taskId: string;
  /** The repo's top level. */
  readonly repo: string;
  readonly logPath: string;
  readonly patchPath: string;
  readonly purpose: ApprovalPurpose;
  /** The existing branch an `integrate` approval fast-forwards; null for `acceptProtected`. */
  readonly branch: string | null;
  /**
   * The new branch an `acceptProtected` approval also creates (the run's `--branch`); null when
   * none. Bound to the approval through its action digest. Absent in older tickets: null.
   */
  readonly newBranch: string | null;
  readonly baseCommit: string;
  readonly patchDigest: string;
  readonly verifyDurationMs: number | null;
}

/**
 * The exact action an approval of `awaiting` authorises. `integrate` commits the patch onto the
 * named existing branch; `acceptProtected` accepts the verify outcome of the task's current
 * attempt for that patch (the `runVerify` kind, targeted at the attempt's tree id).
 */
export function actionDescriptorOf(task: Task, awaiting: AwaitedApproval): ActionDescriptor {
  switch (awaiting.purpose) {
    case 'integrate':
      return {
        kind: 'integrateExistingBranch',
        patchDigest: awaiting.patchDigest,
        target: { type: 'branch', branch: awaiting.branch ?? '' },
        baseCommit: task.baseCommit,
        taskId: task.taskId,
      };
    case 'acceptProtected':
      return {
        kind: 'runVerify',
        patchDigest: awaiting.patchDigest,
        target: { type: 'attempt', attemptId: task.attempts[task.attempt - 1]?.attemptId ?? '' },
        baseCommit: task.baseCommit,
        taskId: task.taskId,
      };
    default:
      return assertNever(awaiting.purpose);
  }
}

/**
 * The `writeNewBranch` an `acceptProtected` approval of a run with `--branch <name>` also
 * authorises: the approved patch committed on its base as new branch `newBranch`.
 */
function newBranchDescriptorOf(task: Task, awaiting: AwaitedApproval, newBranch: string): ActionDescriptor {
  return {
    kind: 'writeNewBranch',
    patchDigest: awaiting.patchDigest,
    target: { type: 'branch', branch: newBranch },
    baseCommit: task.baseCommit,
    taskId: task.taskId,
  };
}

function digestOf(action: ActionDescriptor): ActionDigest {
  const digest = computeActionDigest(action);
  if (!digest.ok) throw new Error(`the kernel built an invalid action: ${digest.reason}`);
  return digest.digest;
}

/**
 * The digest an approval of `awaiting` is bound to. Without a new branch it is the action's own
 * digest; with one (only `acceptProtected`) it is SHA-256 over a domain tag and the canonical JSON
 * of both action digests, so the approval authorises exactly that acceptance and that branch.
 */
export function approvalDigestOf(task: Task, awaiting: AwaitedApproval, newBranch: string | null): ActionDigest {
  if (newBranch !== null && awaiting.purpose !== 'acceptProtected') {
    throw new Error(`a new branch rides only on an acceptProtected approval, not ${awaiting.purpose}`);
  }
  const action = digestOf(actionDescriptorOf(task, awaiting));
  if (newBranch === null) return action;
  const branch = digestOf(newBranchDescriptorOf(task, awaiting, newBranch));
  const hex = createHash('sha256')
    .update(combinedDomain)
    .update(canonicalJson([action, branch]))
    .digest('hex');
  return `sha256:${hex}`;
}

/** What `requestApproval` needs. */
export interface ApprovalRequest {
  readonly stateDir: StateDir;
  /** The repo's top level. */
  readonly repoDir: string;
  /** The repo's state folder. */
  readonly repoState: string;
  readonly driver: TaskDriver;
  readonly action: ActionOf<'requestApproval'>;
  /** The files the patch changes, for the summary. */
  readonly files: readonly string[];
  /** The patch bytes to keep while the user decides (`acceptProtected`); null when already stored. */
  readonly patch: Uint8Array | null;
  readonly nowMs: number;
  /** Shorter validity than `ApprovalFlowLimits.ttlMs`. */
  readonly ttlMs?: number;
  /** The new branch a granted `acceptProtected` approval also creates (the run's `--branch`). */
  readonly newBranch?: string | null;
}

/**
 * Mints, files and records the approval the core asked for; returns its id, its expiry and the
 * actions `step` returned for `approvalRequested`.
 */
export function requestApproval(input: ApprovalRequest): {
  readonly approvalId: string;
  readonly expiresAtMs: number;
  readonly actions: readonly Action[];
} {
  const { action, driver } = input;
  const task = driver.task(action.taskId);
  const awaiting = task?.awaiting;
  if (task === undefined || awaiting === null || awaiting === undefined || awaiting.approvalId !== null) {
    throw new Error(`requestApproval for task ${action.taskId}, which awaits no new approval`);
  }
  const record = task.attempts[task.attempt - 1];
  const newBranch = input.newBranch ?? null;
  const actionDigest = approvalDigestOf(task, awaiting, newBranch);
  const ttlMs = Math.min(input.ttlMs ?? ApprovalFlowLimits.ttlMs, ApprovalFlowLimits.ttlMs);
  const nowMs = Math.max(Math.trunc(input.nowMs), driver.state.nowMs);
  const minted = mintApproval({
    key: approvalKeyBytes(input.stateDir),
    actionDigest,
    taskId: task.taskId,
    purpose: awaiting.purpose,
    nowMs,
    ttlMs,
    randomId: newApprovalRandomId(),
  });
  const patchPath = keepPatch(input.repoState, awaiting.patchDigest, input.patch);
  const violations = record?.outcome.verdict === 'protected' ? record.outcome.violations : [];
  const verify = record?.verify ?? null;
  const store = new ApprovalStore(approvalsDirOf(input.repoState));
  store.add({
    approvalId: minted.approvalId,
    taskId: task.taskId,
    actionKind: actionDescriptorOf(task, awaiting).kind,
    actionDigest,
    purpose: awaiting.purpose,
    createdAtMs: nowMs,
    expiresAtMs: minted.expiresAtMs,
    summary: {
      title: clip(titleOf(task, awaiting, newBranch, input.files.length, violations.length)),
      files: input.files.slice(0, PolicyLimits.approvalSummaryItemsMax).map(clip),
      protectedPaths: violations
        .slice(0, PolicyLimits.approvalSummaryItemsMax)
        .map((violation) => ({ path: clip(violation.path), reason: clip(violation.rule) })),
      verify:
        verify === null || verify.exitCode === null
          ? null
          : { command: clip(task.verifyCommand), exitCode: verify.exitCode, outputDigest: verify.outputDigest },
    },
  });
  const ticket: ApprovalTicket = {
    version: ticketVersion,
    approvalId: minted.approvalId,
    token: minted.token,
    taskId: task.taskId,
    repo: input.repoDir,
    logPath: driver.logPath,
    patchPath,
    purpose: awaiting.purpose,
    branch: awaiting.branch,
    newBranch,
    baseCommit: task.baseCommit,
    patchDigest: awaiting.patchDigest,
    verifyDurationMs: verify?.durationMs ?? null,
  };
  const ticketPath = ticketPathOf(input.repoState, minted.approvalId);
  mkdirSync(join(approvalsDirOf(input.repoState), 'tickets'), { recursive: true, mode: 0o700 });
  writeFileAtomic(ticketPath, Buffer.from(`${JSON.stringify(ticket, null, 2)}\n`), 0o600);
  const actions = driver.emit({
    kind: 'approvalRequested',
    taskId: task.taskId,
    approvalId: minted.approvalId,
    purpose: awaiting.purpose,
    actionDigest,
    expiresAtMs: minted.expiresAtMs,
  });
  return { approvalId: minted.approvalId, expiresAtMs: minted.expiresAtMs, actions };
}

/** Where the patch an approval is about lives while the user decides. */
function keepPatch(repoState: string, patchDigest: string, patch: Uint8Array | null): string {
  if (patch === null) return join(repoState, 'patches', `${patchDigest}.patch`);
  // The patch waits in the state dir for the user's decision; nothing reaches the repo.
  const dir = join(repoState, 'pending');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${patchDigest}.patch`);
  writeFileAtomic(path, patch);
  return path;
}

function titleOf(
  task: Task,
  awaiting: AwaitedApproval,
  newBranch: string | null,
  files: number,
  violations: number,
): string {
  const patch = awaiting.patchDigest.slice(0, 12);
  switch (awaiting.purpose) {
    case 'acceptProtected': {
      const accept = `accept patch ${patch} of task ${task.taskId}: it changes ${violations} protected path(s) among ${files} file(s); verify passed`;
      return newBranch === null ? accept : `${accept}; then commit it onto new branch '${newBranch}'`;
    }
    case 'integrate':
      return `fast-forward existing branch '${awaiting.branch ?? ''}' from ${task.baseCommit.slice(0, 12)} to a commit of verified patch ${patch} (${files} file(s))`;
    default:
      return assertNever(awaiting.purpose);
  }
}

function clip(text: string): string {
  const max = PolicyLimits.approvalSummaryTextCharsMax;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An approval as the CLI shows it. The token is never part of it. */
export interface ApprovalView {
  readonly approvalId: string;
  readonly purpose: string;
  readonly status: ApprovalStatus;
  readonly taskId: string;
  readonly title: string;
  readonly repo: string | null;
  /** The existing branch an `integrate` approval fast-forwards. */
  readonly branch: string | null;
  /** The new branch a granted `acceptProtected` approval creates. */
  readonly newBranch: string | null;
  readonly baseCommit: string | null;
  readonly patchDigest: string | null;
  readonly files: readonly string[];
  readonly protectedPaths: readonly { readonly path: string; readonly reason: string }[];
  readonly verify: {
    readonly command: string;
    readonly exitCode: number;
    readonly outputDigest: string;
    readonly durationMs: number | null;
  } | null;
  readonly patchPath: string | null;
  readonly logPath: string | null;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

/** An approval found in the state dir, with its repo's state folder and its ticket. */
export interface LocatedApproval {
  readonly repoState: string;
  readonly record: ApprovalRecord;
  /** Null when the ticket is missing or unreadable (the approval can then not be used). */
  readonly ticket: ApprovalTicket | null;
}

/** The readable summary of an approval. */
export function viewOf(located: LocatedApproval): ApprovalView {
  const { record, ticket } = located;
  const summary = record.summary;
  return {
    approvalId: record.approvalId,
    purpose: record.purpose,
    status: record.status,
    taskId: record.taskId,
    title: summary.title,
    repo: ticket?.repo ?? null,
    branch: ticket?.branch ?? null,
    newBranch: ticket?.newBranch ?? null,
    baseCommit: ticket?.baseCommit ?? null,
    patchDigest: ticket?.patchDigest ?? null,
    files: summary.files,
    protectedPaths: summary.protectedPaths,
    verify: summary.verify === null ? null : { ...summary.verify, durationMs: ticket?.verifyDurationMs ?? null },
    patchPath: ticket?.patchPath ?? null,
    logPath: ticket?.logPath ?? null,
    createdAtMs: record.createdAtMs,
    expiresAtMs: record.expiresAtMs,
  };
}

/** The repo state folders of the state dir that hold an approvals file. */
function repoStatesWithApprovals(stateDir: StateDir): string[] {
  const repos = join(stateDir.path, 'repos');
  if (!existsSync(repos)) return [];
  return readdirSync(repos)
    .sort()
    .map((name) => join(repos, name))
    .filter((repoState) => existsSync(join(approvalsDirOf(repoState), ApprovalStore.fileName)));
}

/**
 * The approvals still waiting for the user (pending and not expired at `nowMs`), oldest first,
 * of every repo in the state dir or of one repo's state folder.
 */
export function listApprovals(
  stateDir: StateDir,
  options: { readonly repoState?: string; readonly nowMs: number },
): ApprovalView[] {
  const folders = options.repoState === undefined ? repoStatesWithApprovals(stateDir) : [options.repoState];
  const views: ApprovalView[] = [];
  for (const repoState of folders) {
    if (!existsSync(join(approvalsDirOf(repoState), ApprovalStore.fileName))) continue;
    const store = new ApprovalStore(approvalsDirOf(repoState));
    for (const record of store.list()) {
      if (record.status !== 'pending' || options.nowMs >= record.expiresAtMs) continue;
      views.push(viewOf({ repoState, record, ticket: readTicket(repoState, record.approvalId) }));
    }
  }
  return views.sort((a, b) => a.createdAtMs - b.createdAtMs);
}

/** Finds an approval by id in every repo of the state dir; null when none has it. */
export function findApproval(stateDir: StateDir, approvalId: string): LocatedApproval | null {
  for (const repoState of repoStatesWithApprovals(stateDir)) {
    const located = findApprovalIn(repoState, approvalId);
    if (located !== null) return located;
  }
  return null;
}

/** Finds an approval by id in one repo's state folder; null when it has none. */
export function findApprovalIn(repoState: string, approvalId: string): LocatedApproval | null {
  if (!isApprovalId(approvalId)) return null;
  if (!existsSync(join(approvalsDirOf(repoState), ApprovalStore.fileName))) return null;
  const record = new ApprovalStore(approvalsDirOf(repoState)).get(approvalId);
  return record === undefined ? null : { repoState, record, ticket: readTicket(repoState, approvalId) };
}

function readTicket(repoState: string, approvalId: string): ApprovalTicket | null {
  let value: unknown;
  try {
    const bytes = readKeptPatch(ticketPathOf(repoState, approvalId));
    if (bytes.byteLength > ApprovalFlowLimits.ticketBytesMax) return null;
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  return ticketOf(value, approvalId);
}

function ticketOf(value: unknown, approvalId: string): ApprovalTicket | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const text = (key: string): string | null => (typeof v[key] === 'string' ? v[key] : null);
  const purpose = v['purpose'];
  const branch = v['branch'];
  // Tickets written before new branches rode on approvals have no `newBranch`: none was asked for.
  const newBranch = Object.hasOwn(v, 'newBranch') ? v['newBranch'] : null;
  const duration = v['verifyDurationMs'];
  const [token, taskId, repo, logPath, patchPath, baseCommit, patchDigest] = [
    'token',
    'taskId',
    'repo',
    'logPath',
    'patchPath',
    'baseCommit',
    'patchDigest',
  ].map(text);
  if (
    v['version'] !== ticketVersion ||
    v['approvalId'] !== approvalId ||
    (purpose !== 'acceptProtected' && purpose !== 'integrate') ||
    (branch !== null && typeof branch !== 'string') ||
    (newBranch !== null && typeof newBranch !== 'string') ||
    (newBranch !== null && purpose !== 'acceptProtected') ||
    (duration !== null && !(typeof duration === 'number' && Number.isSafeInteger(duration))) ||
    token === null ||
    token === undefined ||
    taskId === null ||
    taskId === undefined ||
    repo === null ||
    repo === undefined ||
    logPath === null ||
    logPath === undefined ||
    patchPath === null ||
    patchPath === undefined ||
    baseCommit === null ||
    baseCommit === undefined ||
    patchDigest === null ||
    patchDigest === undefined
  ) {
    return null;
  }
  return {
    version: ticketVersion,
    approvalId,
    token,
    taskId,
    repo,
    logPath,
    patchPath,
    purpose,
    branch,
    newBranch,
    baseCommit,
    patchDigest,
    verifyDurationMs: duration,
  };
}

/** Why a decision was refused. */
export type DecisionRefusalCode = ApprovalRefusalCode | 'alreadyResolved' | 'notAwaited' | 'ticketUnreadable';

/** A refused decision: nothing changed. */
export interface DecisionRefusal {
  readonly ok: false;
  readonly code: DecisionRefusalCode;
  readonly reason: string;
}

/** The user's decision. */
export type Decision = 'granted' | 'denied';

/** Who decides, how and when. */
export interface DecisionInput {
  readonly actor: ApprovalActor;
  readonly via: ApprovalChannel;
  readonly decision: Decision;
  readonly nowMs: number;
}

/**
 * Resolves approval `located` on its task's open log. Checks, before anything is written: the
 * actor is the user through a CLI channel; the task awaits exactly this approval; the token's MAC
 * matches the stored record; the action digest recomputed from the log is the approved one; the
 * approval is neither used nor expired. Then the store records the decision (a grant is spent at
 * once, under the store's lock) and the log records `approvalResolved`. Returns the actions `step`
 * returned for it.
 */
export function resolveApproval(
  stateDir: StateDir,
  located: LocatedApproval,
  resumed: ResumedTask,
  input: DecisionInput,
): { readonly ok: true; readonly actions: readonly Action[] } | DecisionRefusal {
  const approvalId = located.record.approvalId;
  // The log's clock never runs backwards, so the core judges expiry at no earlier time than this.
  const nowMs = Math.max(input.nowMs, resumed.driver.state.nowMs);
  const actor: unknown = input.actor;
  if (actor !== 'user') {
    return refuse(
      'wrongActor',
      `only the user resolves approvals, not the ${String(actor)}; approval ${approvalId} is unchanged`,
    );
  }
  if (!(approvalChannels as readonly unknown[]).includes(input.via)) {
    return refuse('wrongActor', `approvals are resolved only through the crustcore CLI, not '${String(input.via)}'`);
  }
  if (input.decision !== 'granted' && input.decision !== 'denied') {
    return refuse('notGranted', `unknown decision '${String(input.decision)}'`);
  }
  const ticket = located.ticket;
  if (ticket === null) {
    return refuse(
      'ticketUnreadable',
      `the kernel's ticket for approval ${approvalId} is missing or damaged; rerun the task to request a new approval`,
    );
  }
  const task = resumed.task();
  const pending = approvalOf(resumed.driver.state, approvalId);
  if (pending === undefined) {
    return refuse('unknownApproval', `the log of task ${task.taskId} holds no approval ${approvalId}`);
  }
  switch (pending.status) {
    case 'pending':
      break;
    case 'granted':
      return refuse(
        'alreadyUsed',
        `approval ${approvalId} was already granted and used; an approval authorises one action once`,
      );
    case 'denied':
    case 'withdrawn':
      return refuse('alreadyResolved', `approval ${approvalId} is already ${pending.status}`);
    case 'expired':
      return refuse('expired', `approval ${approvalId} expired; rerun the task to request a new one`);
    default:
      return assertNever(pending.status);
  }
  const awaiting = task.awaiting;
  if (task.status !== 'awaiting-approval' || awaiting === null || awaiting.approvalId !== approvalId) {
    return refuse('notAwaited', `task ${task.taskId} is ${task.status} and does not await approval ${approvalId}`);
  }
  // The ticket's new branch is part of the digest: a ticket edited to name another one no longer matches.
  if (ticket.newBranch !== null && awaiting.purpose !== 'acceptProtected') {
    return refuse(
      'digestMismatch',
      `approval ${approvalId} names a new branch its log's ${awaiting.purpose} cannot carry; it was altered`,
    );
  }
  const actionDigest = approvalDigestOf(task, awaiting, ticket.newBranch);
  const key = approvalKeyBytes(stateDir);
  const record = located.record;
  const hypothetical: ApprovalRecord =
    record.status === 'pending'
      ? {
          ...record,
          status: 'granted',
          resolution: { decision: 'grant', actor: 'user', via: input.via, atMs: nowMs },
        }
      : record;
  const check = checkApproval({
    key,
    token: ticket.token,
    approval: hypothetical,
    actionDigest,
    nowMs,
    used: () => false,
  });
  if (!check.ok) return refuse(check.code, check.reason);
  if (pending.actionDigest !== actionDigest || pending.expiresAtMs !== located.record.expiresAtMs) {
    return refuse('digestMismatch', `approval ${approvalId} does not match the action its log records; it was altered`);
  }
  if (record.status !== 'pending') {
    return refuse('alreadyResolved', `approval ${approvalId} is already ${record.status}`);
  }
  const store = new ApprovalStore(approvalsDirOf(located.repoState));
  const resolved = store.resolve(approvalId, input.decision === 'granted' ? 'grant' : 'deny', {
    actor: 'user',
    via: input.via,
    nowMs,
  });
  if (!resolved.ok) {
    const code = resolved.code === 'alreadyResolved' ? 'alreadyResolved' : resolved.code;
    return refuse(code, resolved.reason);
  }
  if (input.decision === 'granted') {
    const spent = store.consume({ key, token: ticket.token, actionDigest, nowMs, used: () => false });
    if (!spent.ok) return refuse(spent.code, spent.reason);
  }
  const actions = resumed.driver.emit({
    kind: 'approvalResolved',
    approvalId,
    actor: 'user',
    decision: input.decision,
    actionDigest,
  });
  return { ok: true, actions };
}

function refuse(code: DecisionRefusalCode, reason: string): DecisionRefusal {
  return { ok: false, code, reason };
}

/** The result of `decideApproval`: what the performer returned and where the log ends, or a refusal. */
export type DecisionResult<T> =
  { readonly ok: true; readonly result: T; readonly logPath: string; readonly headSeq: number } | DecisionRefusal;

/** What `decideApproval` hands to the caller's performer. */
export interface DecisionContext {
  readonly located: LocatedApproval;
  readonly ticket: ApprovalTicket;
  readonly resumed: ResumedTask;
}

/**
 * Opens the approval's task log, resolves the approval on it, lets `perform`
 * carry out the actions `step` returned (deliver or integrate), and closes the log with a
 * checkpoint. A refusal releases the log untouched.
 */
export async function decideApproval<T>(
  stateDir: StateDir,
  located: LocatedApproval,
  input: DecisionInput,
  perform: (context: DecisionContext, actions: readonly Action[]) => Promise<T>,
): Promise<DecisionResult<T>> {
  if (input.actor !== 'user') {
    return refuse(
      'wrongActor',
      `only the user resolves approvals, not the ${String(input.actor)}; approval ${located.record.approvalId} is unchanged`,
    );
  }
  const ticket = located.ticket;
  if (ticket === null) {
    return refuse(
      'ticketUnreadable',
      `the kernel's ticket for approval ${located.record.approvalId} is missing or damaged; rerun the task to request a new approval`,
    );
  }
  const resumed = ResumedTask.open({
    stateDir,
    repoState: located.repoState,
    taskId: located.record.taskId,
    nowMs: input.nowMs,
  });
  let closed = false;
  try {
    const resolved = resolveApproval(stateDir, located, resumed, input);
    if (!resolved.ok) return resolved;
    const result = await perform({ located, ticket, resumed }, resolved.actions);
    resumed.close();
    closed = true;
    const head = resumed.driver.head;
    return { ok: true, result, logPath: resumed.logPath, headSeq: head.seq };
  } finally {
    if (!closed) resumed.abandon();
  }
}
