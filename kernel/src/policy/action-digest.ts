import { createHash } from 'node:crypto';
import { assertNever } from '../core/assert.js';
import type { ActionKind } from './action-class.js';
import { isActionKind } from './action-class.js';
import { canonicalJson } from './canonical-json.js';
import type { JsonValue } from './canonical-json.js';
import { describeValue, fieldProblem } from './field-check.js';

/** Where an action lands. Each action kind has exactly one target type (see {@link targetTypeOf}). */
export type ActionTarget =
  | { readonly type: 'attempt'; readonly attemptId: string }
  | { readonly type: 'branch'; readonly branch: string }
  | { readonly type: 'remote'; readonly remote: string; readonly branch: string }
  | { readonly type: 'sidecar'; readonly sidecar: string; readonly secretName: string };

/** The exact action an approval or a rule is about. */
export type ActionDescriptor = {
  readonly kind: ActionKind;
  /** Digest of the VerifiedPatch the action carries, or null for actions without a patch. */
  readonly patchDigest: string | null;
  readonly target: ActionTarget;
  /** Full hex object name of the base commit (SHA-1 or SHA-256 repositories). */
  readonly baseCommit: string;
  readonly taskId: string;
};

/** `sha256:` followed by 64 lowercase hex digits. */
export type ActionDigest = `sha256:${string}`;

/** The result of {@link computeActionDigest}. */
export type ActionDigestResult =
  | { readonly ok: true; readonly digest: ActionDigest }
  | { readonly ok: false; readonly code: 'invalidAction'; readonly reason: string };

const commitPattern = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const digestPattern = /^sha256:[0-9a-f]{64}$/;

// Domain separation: an action digest can never collide with another kernel hash of the same JSON.
const domain = 'crustcore/action-digest/v1\n';

/** The target type an action kind must carry. */
export function targetTypeOf(kind: ActionKind): ActionTarget['type'] {
  switch (kind) {
    case 'read':
    case 'runWorker':
    case 'runVerify':
      return 'attempt';
    case 'writeNewBranch':
    case 'integrateExistingBranch':
      return 'branch';
    case 'push':
    case 'openPullRequest':
      return 'remote';
    case 'exposeSecretToSidecar':
      return 'sidecar';
    default:
      return assertNever(kind);
  }
}

/** Whether an action kind must name the VerifiedPatch it carries. */
export function carriesPatch(kind: ActionKind): boolean {
  return targetTypeOf(kind) === 'branch' || targetTypeOf(kind) === 'remote';
}

/** Narrows an untrusted value to an {@link ActionDigest}. */
export function isActionDigest(value: unknown): value is ActionDigest {
  return typeof value === 'string' && digestPattern.test(value);
}

/**
 * The digest of one exact action: SHA-256 over a domain tag and the canonical JSON of
 * `{ kind, patchDigest, target, baseCommit, taskId }`. Changing any field (another patch, another
 * branch or remote, another base, another task) changes the digest. A malformed descriptor is
 * refused rather than hashed, so two different malformed inputs can never share a digest by accident.
 */
export function computeActionDigest(action: ActionDescriptor): ActionDigestResult {
  const problem = actionProblem(action);
  if (problem !== null) return { ok: false, code: 'invalidAction', reason: `action ${problem}` };
  const body: JsonValue = {
    kind: action.kind,
    patchDigest: action.patchDigest,
    target: targetJson(action.target),
    baseCommit: action.baseCommit,
    taskId: action.taskId,
  };
  const hex = createHash('sha256').update(domain).update(canonicalJson(body)).digest('hex');
  return { ok: true, digest: `sha256:${hex}` };
}

function targetJson(target: ActionTarget): JsonValue {
  switch (target.type) {
    case 'attempt':
      return { type: target.type, attemptId: target.attemptId };
    case 'branch':
      return { type: target.type, branch: target.branch };
    case 'remote':
      return { type: target.type, remote: target.remote, branch: target.branch };
    case 'sidecar':
      return { type: target.type, sidecar: target.sidecar, secretName: target.secretName };
    default:
      return assertNever(target);
  }
}

function actionProblem(action: ActionDescriptor): string | null {
  const untrusted: unknown = action;
  if (typeof untrusted !== 'object' || untrusted === null) return `expected an object, got ${describeValue(untrusted)}`;
  if (!isActionKind(action.kind)) return `kind: expected an action kind, got ${describeValue(action.kind)}`;
  const taskProblem = fieldProblem(action.taskId);
  if (taskProblem !== null) return `taskId: ${taskProblem}`;
  if (typeof action.baseCommit !== 'string' || !commitPattern.test(action.baseCommit)) {
    return `baseCommit: expected 40 or 64 lowercase hex digits, got ${describeValue(action.baseCommit)}`;
  }
  if (carriesPatch(action.kind) && action.patchDigest === null) {
    return `patchDigest: ${action.kind} must name the verified patch it carries`;
  }
  if (action.patchDigest !== null) {
    const patchProblem = fieldProblem(action.patchDigest);
    if (patchProblem !== null) return `patchDigest: ${patchProblem}`;
  }
  const target: unknown = action.target;
  if (typeof target !== 'object' || target === null) return `target: expected an object, got ${describeValue(target)}`;
  const expected = targetTypeOf(action.kind);
  if (action.target.type !== expected) {
    return `target.type: ${action.kind} needs a ${expected} target, got ${describeValue(action.target.type)}`;
  }
  return targetFieldsProblem(action.target);
}

function targetFieldsProblem(target: ActionTarget): string | null {
  switch (target.type) {
    case 'attempt':
      return firstProblem([['attemptId', target.attemptId]]);
    case 'branch':
      return firstProblem([['branch', target.branch]]);
    case 'remote':
      return firstProblem([
        ['remote', target.remote],
        ['branch', target.branch],
      ]);
    case 'sidecar':
      return firstProblem([
        ['sidecar', target.sidecar],
        ['secretName', target.secretName],
      ]);
    default:
      return assertNever(target);
  }
}

function firstProblem(fields: readonly (readonly [string, unknown])[]): string | null {
  for (const [name, value] of fields) {
    const problem = fieldProblem(value);
    if (problem !== null) return `target.${name}: ${problem}`;
  }
  return null;
}
