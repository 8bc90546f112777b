/**
 * Events: facts that already happened, named in the past tense. The shell stamps every event with
 * `seq` (strictly increasing per log, from 1) and `atMs` (wall clock, clamped non-decreasing),
 * records it in the log, and only then feeds it to `step`. Time and ids arrive here as data.
 */

/** What produced the candidate change. */
export type Candidate = 'patch' | 'worker' | 'workingTree' | 'model';

/** Per-task budgets. Exceeding any of them ends the task. */
export interface Budgets {
  /** Verify rounds. */
  readonly attempts: number;
  /** Wall time from task creation while the task is in flight. */
  readonly wallMs: number;
  /** Model tokens. */
  readonly tokens: number;
  /** Model cost in millionths of the billing currency. */
  readonly costMicros: number;
  /** Output bytes of verify runs and tools. */
  readonly outputBytes: number;
}

/** What an approval authorises. */
export type ApprovalPurpose = 'acceptProtected' | 'integrate';

/** Who resolved an approval. Only `user` is honoured. */
export type Actor = 'user' | 'model' | 'sidecar' | 'worker';

/** How a verified patch reaches the user's repo. `existingBranch` needs an approval. */
export type IntegrationMode = 'newBranch' | 'existingBranch';

/** One rule a patch broke, found by the verify gate's integrity checks. */
export interface Violation {
  readonly path: string;
  readonly rule: string;
}

/** The verify gate's integrity verdict beyond the exit code. */
export type Integrity =
  /** `accepted`: protected changes the user accepted up front (`--allow-protected`), kept for the audit trail. */
  | { readonly verdict: 'clean'; readonly accepted?: readonly Violation[] }
  | { readonly verdict: 'protected'; readonly violations: readonly Violation[] }
  | { readonly verdict: 'broken'; readonly violations: readonly Violation[] };

interface Stamp {
  /** Position in the log; assigned by the shell, strictly increasing, from 1. */
  readonly seq: number;
  /** Wall-clock time in ms; the reducer clamps it so time never runs backwards. */
  readonly atMs: number;
}

/** Every event the kernel core understands, discriminated by `kind`. */
export type Event =
  | (Stamp & {
      readonly kind: 'taskCreated';
      readonly taskId: string;
      readonly goal: string;
      readonly baseCommit: string;
      readonly verifyCommand: string;
      readonly candidate: Candidate;
      readonly budgets?: Partial<Budgets>;
      /** What the user let untrusted code do beyond the defaults (network, env, protected paths), one line each. */
      readonly risks?: readonly string[];
    })
  | (Stamp & {
      readonly kind: 'attemptStarted';
      readonly taskId: string;
      readonly attempt: number;
      /** The unique random id of the fresh attempt tree. */
      readonly attemptId: string;
    })
  | (Stamp & {
      readonly kind: 'patchDerived';
      readonly taskId: string;
      readonly attempt: number;
      readonly patchDigest: string;
      readonly files: readonly string[];
      readonly patchBytes: number;
    })
  | (Stamp & {
      readonly kind: 'patchRefused';
      readonly taskId: string;
      readonly attempt: number;
      readonly code: string;
      readonly detail: string;
    })
  | (Stamp & {
      readonly kind: 'verifyStarted';
      readonly taskId: string;
      readonly attempt: number;
      readonly jobId: string;
      readonly leaseMs: number;
    })
  | (Stamp & { readonly kind: 'jobHeartbeat'; readonly jobId: string })
  | (Stamp & {
      readonly kind: 'verifyFinished';
      readonly taskId: string;
      readonly attempt: number;
      readonly jobId: string;
      readonly patchDigest: string;
      /** `null` when the process was ended by a signal. */
      readonly exitCode: number | null;
      readonly timedOut: boolean;
      readonly outputBytes: number;
      readonly outputDigest: string;
      readonly durationMs: number;
      readonly integrity: Integrity;
    })
  | (Stamp & {
      readonly kind: 'approvalRequested';
      readonly taskId: string;
      /** Unguessable id minted by the shell. */
      readonly approvalId: string;
      readonly purpose: ApprovalPurpose;
      /** Digest of the exact action the approval authorises, computed by the shell. */
      readonly actionDigest: string;
      readonly expiresAtMs: number;
    })
  | (Stamp & {
      readonly kind: 'approvalResolved';
      readonly approvalId: string;
      readonly actor: Actor;
      readonly decision: 'granted' | 'denied';
      readonly actionDigest: string;
    })
  | (Stamp & {
      readonly kind: 'integrationRequested';
      readonly taskId: string;
      readonly branch: string;
      readonly mode: IntegrationMode;
    })
  | (Stamp & {
      readonly kind: 'integrationFinished';
      readonly taskId: string;
      readonly branch: string;
      readonly commit: string;
    })
  | (Stamp & { readonly kind: 'integrationFailed'; readonly taskId: string; readonly reason: string })
  | (Stamp & {
      readonly kind: 'usageCharged';
      readonly taskId: string;
      readonly tokens: number;
      readonly costMicros: number;
      readonly outputBytes: number;
    })
  | (Stamp & { readonly kind: 'clockTicked' })
  | (Stamp & { readonly kind: 'modelClaimedDone'; readonly taskId: string; readonly text: string })
  | (Stamp & { readonly kind: 'taskCancelled'; readonly taskId: string; readonly reason: string })
  | (Stamp & { readonly kind: 'sandboxUnavailable'; readonly taskId: string; readonly reason: string })
  | (Stamp & {
      readonly kind: 'attemptFailed';
      readonly taskId: string;
      readonly attempt: number;
      readonly code: string;
      readonly detail: string;
    })
  | (Stamp & { readonly kind: 'kernelRecovered' })
  | (Stamp & {
      readonly kind: 'secretExposed';
      /** The secret's name (names are not secret); the value is never recorded. */
      readonly name: string;
      /** Why the value left its wrapper, as given to `Secret.expose`. */
      readonly purpose: string;
    });

/** The `kind` of every event. */
export type EventKind = Event['kind'];

/** The event variant with the given `kind`. */
export type EventOf<K extends EventKind> = Extract<Event, { readonly kind: K }>;
