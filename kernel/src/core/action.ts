/**
 * Actions: what the shell must do, named in the imperative. The kernel core never does them
 * itself; replaying the log through `step` yields the same actions again.
 */
import type { ApprovalPurpose, IntegrationMode } from './event.js';

/** Why the kernel refused an event. The event stays in the log; the refusal is reported. */
export type RefusalCode =
  | 'malformedEvent'
  | 'unknownTask'
  | 'duplicateTask'
  | 'tasksFull'
  | 'taskTerminal'
  | 'wrongStatus'
  | 'staleAttempt'
  | 'staleJob'
  | 'duplicateJob'
  | 'unknownApproval'
  | 'duplicateApproval'
  | 'approvalNotPending'
  | 'actorNotUser'
  | 'actionDigestMismatch'
  | 'approvalExpired'
  | 'approvalsFull'
  | 'purposeMismatch'
  | 'branchMismatch'
  | 'integrationInProgress';

/** Every action the kernel core emits, discriminated by `kind`. */
export type Action =
  | {
      /** Create a fresh attempt tree at the task's base commit and run the candidate in it. */
      readonly kind: 'startAttempt';
      readonly taskId: string;
      readonly attempt: number;
    }
  | {
      /** Run the user's verify command in the sandbox against exactly this patch. */
      readonly kind: 'runVerify';
      readonly taskId: string;
      readonly attempt: number;
      readonly patchDigest: string;
    }
  | {
      /** Hand the verified patch to the user (save it, print it). */
      readonly kind: 'deliverPatch';
      readonly taskId: string;
      readonly patchDigest: string;
    }
  | {
      /** Delete the attempt's tree; it is never reused. */
      readonly kind: 'removeAttempt';
      readonly taskId: string;
      readonly attempt: number;
    }
  | {
      /** Ask the user; the shell answers with `approvalRequested` carrying the id and action digest. */
      readonly kind: 'requestApproval';
      readonly taskId: string;
      readonly purpose: ApprovalPurpose;
      readonly patchDigest: string;
      /** The target branch for `integrate`, `null` for `acceptProtected`. */
      readonly branch: string | null;
    }
  | {
      /** Commit the verified patch to a branch of the user's repo. */
      readonly kind: 'integratePatch';
      readonly taskId: string;
      readonly patchDigest: string;
      readonly branch: string;
      readonly mode: IntegrationMode;
      /** The granted approval for `existingBranch`, `null` for `newBranch`. */
      readonly approvalId: string | null;
    }
  | {
      /** Kill the job's whole process tree. */
      readonly kind: 'killJob';
      readonly jobId: string;
      readonly reason: string;
    }
  | {
      /** Record and surface a refused event. */
      readonly kind: 'reportRefusal';
      readonly taskId?: string;
      readonly reason: RefusalCode;
      readonly detail: string;
    };

/** The `kind` of every action. */
export type ActionKind = Action['kind'];

/** The action variant with the given `kind`. */
export type ActionOf<K extends ActionKind> = Extract<Action, { readonly kind: K }>;
