import type { ActionKind } from './action-class.js';
import { actionKinds } from './action-class.js';
import type { ActionDigest } from './action-digest.js';
import { isActionDigest } from './action-digest.js';
import type { JsonValue } from './canonical-json.js';
import { describeValue } from './field-check.js';
import {
  childPath,
  JsonProblems,
  own,
  readArray,
  readChoice,
  readField,
  readInteger,
  readObject,
  readText,
} from './json-reader.js';
import { PolicyLimits } from './limits.js';

/** Who tried to resolve an approval. Only `user` is ever honoured. */
export type ApprovalActor = 'user' | 'model' | 'sidecar' | 'kernel';
/** Every {@link ApprovalActor}. */
export const approvalActors: readonly ApprovalActor[] = ['user', 'model', 'sidecar', 'kernel'];

/** The authenticated channel a user decision arrived through. */
export type ApprovalChannel = 'cli-tty' | 'cli-yes';
/** Every {@link ApprovalChannel}. */
export const approvalChannels: readonly ApprovalChannel[] = ['cli-tty', 'cli-yes'];

/** Where an approval stands. `used` and `expired` are final. */
export type ApprovalStatus = 'pending' | 'granted' | 'denied' | 'used' | 'expired';
/** Every {@link ApprovalStatus}. */
export const approvalStatuses: readonly ApprovalStatus[] = ['pending', 'granted', 'denied', 'used', 'expired'];

/** The decision a user takes on a pending approval. */
export type ApprovalDecision = 'grant' | 'deny';

/** Who decided, how, and when. */
export type ApprovalResolution = {
  readonly decision: ApprovalDecision;
  readonly actor: ApprovalActor;
  readonly via: ApprovalChannel;
  readonly atMs: number;
};

/** The evidence a user reads before deciding. */
export type ApprovalSummary = {
  /** One line: what the action does, e.g. `commit 3 files to branch fix/parser`. */
  readonly title: string;
  /** Repo-relative paths the patch changes. */
  readonly files: readonly string[];
  /** Protected paths the patch touches and why each is protected. */
  readonly protectedPaths: readonly { readonly path: string; readonly reason: string }[];
  /** The verify run that vouches for the patch, or null when none applies. */
  readonly verify: { readonly command: string; readonly exitCode: number; readonly outputDigest: string } | null;
};

/** One approval as the approvals file stores it. */
export type ApprovalRecord = {
  readonly approvalId: string;
  readonly taskId: string;
  readonly actionKind: ActionKind;
  readonly actionDigest: ActionDigest;
  readonly purpose: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly status: ApprovalStatus;
  readonly resolution: ApprovalResolution | null;
  readonly usedAtMs: number | null;
  readonly summary: ApprovalSummary;
};

/** The version of the approvals file this code reads and writes. */
export const approvalsFileVersion = 1;

const approvalIdPattern = /^[a-z2-7]{26}$/;
const timeMax = Number.MAX_SAFE_INTEGER;

/** Narrows an untrusted value to a well-formed approval id (26 base32 characters, 128 bits). */
export function isApprovalId(value: unknown): value is string {
  return typeof value === 'string' && approvalIdPattern.test(value);
}

/** The result of {@link parseApprovalsFile}. */
export type ApprovalsFileResult =
  | { readonly ok: true; readonly records: readonly ApprovalRecord[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Parses and validates the text of an approvals file. Never throws. */
export function parseApprovalsFile(text: string): ApprovalsFileResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`(root): not JSON (${error instanceof Error ? error.message : 'parse error'})`] };
  }
  const problems = new JsonProblems(PolicyLimits.rulesErrorsMax);
  const file = readObject(value, '', problems, { required: ['version', 'approvals'], optional: [] });
  if (file === undefined) return { ok: false, problems: problems.lines() };
  if (own(file, 'version') !== approvalsFileVersion) {
    problems.add('version', `expected ${approvalsFileVersion}, got ${describeValue(own(file, 'version'))}`);
  }
  const items = readArray(own(file, 'approvals'), 'approvals', problems, 0, PolicyLimits.approvalsMax);
  const records: ApprovalRecord[] = [];
  const seen = new Set<string>();
  items?.forEach((item, index) => {
    const path = childPath('approvals', index);
    const record = readRecord(item, path, problems);
    if (record === undefined) return;
    if (seen.has(record.approvalId)) problems.add(childPath(path, 'approvalId'), 'duplicate approval id');
    seen.add(record.approvalId);
    records.push(record);
  });
  return problems.empty ? { ok: true, records } : { ok: false, problems: problems.lines() };
}

/** Validates one record as {@link parseApprovalsFile} does; used to check records before they are stored. */
export function approvalRecordProblems(value: unknown): readonly string[] {
  const problems = new JsonProblems(PolicyLimits.rulesErrorsMax);
  readRecord(value, 'record', problems);
  return problems.lines();
}

/** The JSON form of an approvals file (written as canonical-order-free pretty JSON by the store). */
export function approvalsFileJson(records: readonly ApprovalRecord[]): JsonValue {
  return { version: approvalsFileVersion, approvals: records.map(recordJson) };
}

function recordJson(record: ApprovalRecord): JsonValue {
  const { summary, resolution } = record;
  return {
    approvalId: record.approvalId,
    taskId: record.taskId,
    actionKind: record.actionKind,
    actionDigest: record.actionDigest,
    purpose: record.purpose,
    createdAtMs: record.createdAtMs,
    expiresAtMs: record.expiresAtMs,
    status: record.status,
    resolution:
      resolution === null
        ? null
        : { decision: resolution.decision, actor: resolution.actor, via: resolution.via, atMs: resolution.atMs },
    usedAtMs: record.usedAtMs,
    summary: {
      title: summary.title,
      files: [...summary.files],
      protectedPaths: summary.protectedPaths.map((entry) => ({ path: entry.path, reason: entry.reason })),
      verify:
        summary.verify === null
          ? null
          : {
              command: summary.verify.command,
              exitCode: summary.verify.exitCode,
              outputDigest: summary.verify.outputDigest,
            },
    },
  };
}

const recordKeys = [
  'approvalId',
  'taskId',
  'actionKind',
  'actionDigest',
  'purpose',
  'createdAtMs',
  'expiresAtMs',
  'status',
  'resolution',
  'usedAtMs',
  'summary',
] as const;

function readRecord(value: unknown, path: string, problems: JsonProblems): ApprovalRecord | undefined {
  const raw = readObject(value, path, problems, { required: recordKeys, optional: [] });
  if (raw === undefined) return undefined;
  const at = (key: string): string => childPath(path, key);
  const approvalId = own(raw, 'approvalId');
  if (!isApprovalId(approvalId))
    problems.add(at('approvalId'), `expected 26 base32 characters, got ${describeValue(approvalId)}`);
  const taskId = readField(own(raw, 'taskId'), at('taskId'), problems);
  const actionKind = readChoice(own(raw, 'actionKind'), at('actionKind'), problems, actionKinds);
  const actionDigest = own(raw, 'actionDigest');
  if (!isActionDigest(actionDigest))
    problems.add(at('actionDigest'), `expected sha256:<64 hex>, got ${describeValue(actionDigest)}`);
  const purpose = readField(own(raw, 'purpose'), at('purpose'), problems);
  const createdAtMs = readInteger(own(raw, 'createdAtMs'), at('createdAtMs'), problems, 0, timeMax);
  const expiresAtMs = readInteger(own(raw, 'expiresAtMs'), at('expiresAtMs'), problems, 0, timeMax);
  const status = readChoice(own(raw, 'status'), at('status'), problems, approvalStatuses);
  const resolution = readResolution(own(raw, 'resolution'), at('resolution'), problems);
  const usedRaw = own(raw, 'usedAtMs');
  const usedAtMs = usedRaw === null ? null : readInteger(usedRaw, at('usedAtMs'), problems, 0, timeMax);
  const summary = readSummary(own(raw, 'summary'), at('summary'), problems);
  if (
    !isApprovalId(approvalId) ||
    taskId === undefined ||
    actionKind === undefined ||
    !isActionDigest(actionDigest) ||
    purpose === undefined ||
    createdAtMs === undefined ||
    expiresAtMs === undefined ||
    status === undefined ||
    resolution === undefined ||
    usedAtMs === undefined ||
    summary === undefined
  ) {
    return undefined;
  }
  return {
    approvalId,
    taskId,
    actionKind,
    actionDigest,
    purpose,
    createdAtMs,
    expiresAtMs,
    status,
    resolution,
    usedAtMs,
    summary,
  };
}

function readResolution(value: unknown, path: string, problems: JsonProblems): ApprovalResolution | null | undefined {
  if (value === null) return null;
  const raw = readObject(value, path, problems, { required: ['decision', 'actor', 'via', 'atMs'], optional: [] });
  if (raw === undefined) return undefined;
  const decision = readChoice(own(raw, 'decision'), childPath(path, 'decision'), problems, ['grant', 'deny'] as const);
  const actor = readChoice(own(raw, 'actor'), childPath(path, 'actor'), problems, approvalActors);
  const via = readChoice(own(raw, 'via'), childPath(path, 'via'), problems, approvalChannels);
  const atMs = readInteger(own(raw, 'atMs'), childPath(path, 'atMs'), problems, 0, timeMax);
  if (decision === undefined || actor === undefined || via === undefined || atMs === undefined) return undefined;
  return { decision, actor, via, atMs };
}

function readSummary(value: unknown, path: string, problems: JsonProblems): ApprovalSummary | undefined {
  const raw = readObject(value, path, problems, {
    required: ['title', 'files', 'protectedPaths', 'verify'],
    optional: [],
  });
  if (raw === undefined) return undefined;
  const textMax = PolicyLimits.approvalSummaryTextCharsMax;
  const itemsMax = PolicyLimits.approvalSummaryItemsMax;
  const title = readText(own(raw, 'title'), childPath(path, 'title'), problems, textMax);
  const filesPath = childPath(path, 'files');
  const fileItems = readArray(own(raw, 'files'), filesPath, problems, 0, itemsMax);
  const files = fileItems?.map((item, index) => readText(item, childPath(filesPath, index), problems, textMax));
  const protectedPath = childPath(path, 'protectedPaths');
  const protectedItems = readArray(own(raw, 'protectedPaths'), protectedPath, problems, 0, itemsMax);
  const protectedPaths = protectedItems?.map((item, index) => {
    const itemPath = childPath(protectedPath, index);
    const entry = readObject(item, itemPath, problems, { required: ['path', 'reason'], optional: [] });
    if (entry === undefined) return undefined;
    const entryPath = readText(own(entry, 'path'), childPath(itemPath, 'path'), problems, textMax);
    const reason = readText(own(entry, 'reason'), childPath(itemPath, 'reason'), problems, textMax);
    return entryPath === undefined || reason === undefined ? undefined : { path: entryPath, reason };
  });
  const verify = readVerify(own(raw, 'verify'), childPath(path, 'verify'), problems);
  if (
    title === undefined ||
    files === undefined ||
    !files.every((file) => file !== undefined) ||
    protectedPaths === undefined ||
    !protectedPaths.every((entry) => entry !== undefined) ||
    verify === undefined
  ) {
    return undefined;
  }
  return { title, files, protectedPaths, verify };
}

function readVerify(value: unknown, path: string, problems: JsonProblems): ApprovalSummary['verify'] | undefined {
  if (value === null) return null;
  const raw = readObject(value, path, problems, { required: ['command', 'exitCode', 'outputDigest'], optional: [] });
  if (raw === undefined) return undefined;
  const command = readText(
    own(raw, 'command'),
    childPath(path, 'command'),
    problems,
    PolicyLimits.approvalSummaryTextCharsMax,
  );
  const exitCode = readInteger(own(raw, 'exitCode'), childPath(path, 'exitCode'), problems, -1, 255);
  const outputDigest = readField(own(raw, 'outputDigest'), childPath(path, 'outputDigest'), problems);
  if (command === undefined || exitCode === undefined || outputDigest === undefined) return undefined;
  return { command, exitCode, outputDigest };
}
