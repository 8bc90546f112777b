import { assertNever } from '../core/assert.js';

/**
 * What the kernel may be asked to do on the user's behalf. Reversible kinds touch only
 * disposable attempt trees or new branches; irreversible kinds change something the user or
 * others already rely on, or let a secret leave the kernel.
 */
export const ActionKind = {
  /** Read files of an attempt tree or the base commit. */
  read: 'read',
  /** Let a worker or the native agent change a fresh attempt tree. */
  runWorker: 'runWorker',
  /** Run the user's verify command in the sandbox. */
  runVerify: 'runVerify',
  /** Write a verified patch to a branch that does not exist yet. */
  writeNewBranch: 'writeNewBranch',
  /** Commit a verified patch onto a branch that already exists in the user's repo. */
  integrateExistingBranch: 'integrateExistingBranch',
  /** Push a branch to a remote. */
  push: 'push',
  /** Open a (draft) pull request on a forge. */
  openPullRequest: 'openPullRequest',
  /**
   * Hand a secret to a sidecar for anything but the provider call it is configured for. The
   * provider key for a model call is the secrets broker's business, not a policy action.
   */
  exposeSecretToSidecar: 'exposeSecretToSidecar',
} as const;

/** One of {@link ActionKind}. */
export type ActionKind = (typeof ActionKind)[keyof typeof ActionKind];

/** Every action kind, in declaration order. */
export const actionKinds: readonly ActionKind[] = Object.freeze(Object.values(ActionKind));

/** Whether an action can be undone without anyone but the kernel noticing. */
export type ActionClass = 'reversible' | 'irreversible';

/** Narrows an untrusted value to an {@link ActionKind}. */
export function isActionKind(value: unknown): value is ActionKind {
  return typeof value === 'string' && (actionKinds as readonly string[]).includes(value);
}

/** The class of an action kind. */
export function classifyAction(kind: ActionKind): ActionClass {
  switch (kind) {
    case 'read':
    case 'runWorker':
    case 'runVerify':
    case 'writeNewBranch':
      return 'reversible';
    case 'integrateExistingBranch':
    case 'push':
    case 'openPullRequest':
    case 'exposeSecretToSidecar':
      return 'irreversible';
    default:
      return assertNever(kind);
  }
}

/** How much the user wants to review before the kernel acts. */
export const ReviewMode = {
  /** Nothing waits for the user, except letting a secret leave the kernel. */
  auto: 'auto',
  /** Irreversible steps (integrate, push, pull request, secret exposure) wait for approval. */
  approveBeforeMerge: 'approve-before-merge',
  /** As approve-before-merge, and a worker run waits for approval before it starts. */
  approveBeforeExecute: 'approve-before-execute',
  /** Every action except reading waits for approval. */
  approveEveryStep: 'approve-every-step',
} as const;

/** One of {@link ReviewMode}. */
export type ReviewMode = (typeof ReviewMode)[keyof typeof ReviewMode];

/** Every review mode, in declaration order. */
export const reviewModes: readonly ReviewMode[] = Object.freeze(Object.values(ReviewMode));

/** The review mode when the user configured none. */
export const reviewModeDefault: ReviewMode = ReviewMode.approveBeforeMerge;

/** Narrows an untrusted value to a {@link ReviewMode}. */
export function isReviewMode(value: unknown): value is ReviewMode {
  return typeof value === 'string' && (reviewModes as readonly string[]).includes(value);
}

/**
 * Whether the kernel must hold a user approval before it performs `kind` under `mode`.
 * Exposing a secret for a non-model purpose needs approval in every mode, `auto` included:
 * a leaked credential cannot be taken back, and no verify run vouches for it.
 */
export function requiresApproval(kind: ActionKind, mode: ReviewMode): boolean {
  if (kind === 'exposeSecretToSidecar') return true;
  switch (mode) {
    case 'auto':
      return false;
    case 'approve-before-merge':
      return classifyAction(kind) === 'irreversible';
    case 'approve-before-execute':
      return kind === 'runWorker' || classifyAction(kind) === 'irreversible';
    case 'approve-every-step':
      return kind !== 'read';
    default:
      return assertNever(mode);
  }
}
