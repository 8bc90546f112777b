import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { assertNever } from '../core/assert.js';
import type {
  ApprovalActor,
  ApprovalChannel,
  ApprovalDecision,
  ApprovalRecord,
  ApprovalSummary,
} from './approval-record.js';
import {
  approvalActors,
  approvalChannels,
  approvalRecordProblems,
  approvalsFileJson,
  parseApprovalsFile,
} from './approval-record.js';
import type { ApprovalCheck, CheckApprovalInput } from './approval-token.js';
import { checkApproval } from './approval-token.js';
import { PolicyLimits } from './limits.js';

/** An approval as the kernel files it, before anyone decides. */
export type NewApproval = {
  readonly approvalId: string;
  readonly taskId: string;
  readonly actionKind: ApprovalRecord['actionKind'];
  readonly actionDigest: ApprovalRecord['actionDigest'];
  readonly purpose: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly summary: ApprovalSummary;
};

/** Who resolves an approval, through which channel, and when. */
export type ResolveOptions = {
  readonly actor: ApprovalActor;
  readonly via: ApprovalChannel;
  readonly nowMs: number;
};

/** The result of {@link ApprovalStore.resolve}. */
export type ResolveResult =
  | { readonly ok: true; readonly record: ApprovalRecord }
  | {
      readonly ok: false;
      readonly code: 'wrongActor' | 'unknownApproval' | 'expired' | 'alreadyResolved';
      readonly reason: string;
    };

/** What {@link ApprovalStore.consume} needs: a check input without the record, which the store supplies. */
export type ConsumeInput = Omit<CheckApprovalInput, 'approval'>;

/** Why the store could not read or write its file. */
export type ApprovalStoreErrorCode = 'corrupt' | 'tooLarge' | 'locked' | 'invalidApproval';

/** A failure of the approvals file itself (not a refused approval, which is a value). */
export class ApprovalStoreError extends Error {
  override readonly name = 'ApprovalStoreError';
  readonly code: ApprovalStoreErrorCode;

  constructor(code: ApprovalStoreErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const lockPollMs = 10;

/**
 * Pending and past approvals in one JSON file inside a directory of the kernel's state dir.
 * Every change re-reads the file under an exclusive lock file and replaces it atomically
 * (temporary file, fsync, rename, 0600), so the CLI and a running kernel can share it.
 * A corrupt file is refused, never repaired or ignored.
 */
export class ApprovalStore {
  /** The file name inside the store's directory. */
  static readonly fileName = 'approvals.json';

  readonly #dir: string;
  readonly #file: string;
  readonly #lock: string;
  readonly #lockWaitMs: number;

  /**
   * Opens (and, if needed, creates with mode 0700) the store in `dir`. `lockWaitMs` bounds how
   * long an operation waits for another process's lock (default `PolicyLimits.approvalsLockWaitMs`).
   */
  constructor(dir: string, options: { readonly lockWaitMs?: number } = {}) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#lockWaitMs = Math.min(
      options.lockWaitMs ?? PolicyLimits.approvalsLockWaitMs,
      PolicyLimits.approvalsLockWaitMs,
    );
    this.#dir = dir;
    this.#file = join(dir, ApprovalStore.fileName);
    this.#lock = `${this.#file}.lock`;
  }

  /** The approvals file's path. */
  get path(): string {
    return this.#file;
  }

  /** Every stored approval, oldest first. */
  list(): readonly ApprovalRecord[] {
    return this.#read();
  }

  /** The approval with this id, or undefined. */
  get(approvalId: string): ApprovalRecord | undefined {
    return this.#read().find((record) => record.approvalId === approvalId);
  }

  /** Files a new pending approval. A malformed or duplicate approval is a kernel bug and throws. */
  add(approval: NewApproval): ApprovalRecord {
    const record: ApprovalRecord = {
      approvalId: approval.approvalId,
      taskId: approval.taskId,
      actionKind: approval.actionKind,
      actionDigest: approval.actionDigest,
      purpose: approval.purpose,
      createdAtMs: approval.createdAtMs,
      expiresAtMs: approval.expiresAtMs,
      status: 'pending',
      resolution: null,
      usedAtMs: null,
      summary: approval.summary,
    };
    const problems = approvalRecordProblems(record);
    if (problems.length > 0) throw new ApprovalStoreError('invalidApproval', `approval not filed: ${problems[0]}`);
    return this.#update((records) => {
      if (records.some((existing) => existing.approvalId === record.approvalId)) {
        throw new ApprovalStoreError('invalidApproval', `approval ${record.approvalId} is already filed`);
      }
      if (records.length >= PolicyLimits.approvalsMax) {
        throw new ApprovalStoreError(
          'tooLarge',
          `approvals file holds ${records.length} approvals (PolicyLimits.approvalsMax); remove old ones`,
        );
      }
      return { records: [...records, record], value: record };
    });
  }

  /**
   * Records a user's decision on a pending approval. Only the user, through an authenticated
   * channel, may decide: any other actor is refused with `wrongActor` and changes nothing.
   */
  resolve(approvalId: string, decision: ApprovalDecision, options: ResolveOptions): ResolveResult {
    const actor: unknown = options.actor;
    const via: unknown = options.via;
    if (actor !== 'user' || !approvalActors.includes(actor)) {
      return { ok: false, code: 'wrongActor', reason: `only the user can resolve approvals, not ${String(actor)}` };
    }
    if (!(approvalChannels as readonly unknown[]).includes(via)) {
      return {
        ok: false,
        code: 'wrongActor',
        reason: `approvals are resolved only through the CLI, not ${String(via)}`,
      };
    }
    if (decision !== 'grant' && decision !== 'deny') {
      return { ok: false, code: 'wrongActor', reason: `unknown decision ${String(decision)}` };
    }
    return this.#update((records): { records: readonly ApprovalRecord[]; value: ResolveResult } => {
      const index = records.findIndex((record) => record.approvalId === approvalId);
      const record = records[index];
      if (record === undefined) {
        const reason = `no approval ${approvalId}; list them with \`crustcore approvals\``;
        return { records, value: { ok: false, code: 'unknownApproval', reason } };
      }
      switch (record.status) {
        case 'pending':
          break;
        case 'granted':
        case 'denied':
        case 'used':
          return {
            records,
            value: { ok: false, code: 'alreadyResolved', reason: `approval ${approvalId} is already ${record.status}` },
          };
        case 'expired':
          return { records, value: { ok: false, code: 'expired', reason: `approval ${approvalId} expired` } };
        default:
          return assertNever(record.status);
      }
      if (options.nowMs >= record.expiresAtMs) {
        const expired: ApprovalRecord = { ...record, status: 'expired' };
        return {
          records: replaceAt(records, index, expired),
          value: {
            ok: false,
            code: 'expired',
            reason: `approval ${approvalId} expired; rerun the task to request a new one`,
          },
        };
      }
      const resolved: ApprovalRecord = {
        ...record,
        status: decision === 'grant' ? 'granted' : 'denied',
        resolution: { decision, actor: 'user', via: options.via, atMs: options.nowMs },
      };
      return { records: replaceAt(records, index, resolved), value: { ok: true, record: resolved } };
    });
  }

  /**
   * Checks an approval token against its stored record and, only if it passes, marks the
   * approval used, both under the store's lock: two processes can never both spend one approval.
   */
  consume(input: ConsumeInput): ApprovalCheck {
    const match = typeof input.token === 'string' ? /^([a-z2-7]{26})\./.exec(input.token) : null;
    const approvalId = match?.[1];
    return this.#update((records): { records: readonly ApprovalRecord[]; value: ApprovalCheck } => {
      const index = approvalId === undefined ? -1 : records.findIndex((record) => record.approvalId === approvalId);
      const approval = records[index];
      const check = checkApproval({ ...input, approval });
      if (!check.ok || approval === undefined) return { records, value: check };
      const used: ApprovalRecord = { ...approval, status: 'used', usedAtMs: input.nowMs };
      return { records: replaceAt(records, index, used), value: check };
    });
  }

  /** Marks every pending or granted approval whose time is up as expired; returns their ids. */
  expireDue(nowMs: number): readonly string[] {
    return this.#update((records) => {
      const expiredIds: string[] = [];
      const next = records.map((record) => {
        const open = record.status === 'pending' || record.status === 'granted';
        if (!open || nowMs < record.expiresAtMs) return record;
        expiredIds.push(record.approvalId);
        return { ...record, status: 'expired' as const };
      });
      return { records: next, value: expiredIds };
    });
  }

  #read(): readonly ApprovalRecord[] {
    let fd: number;
    try {
      fd = openSync(this.#file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    let text: string;
    try {
      const size = fstatSync(fd).size;
      if (size > PolicyLimits.approvalsFileBytesMax) {
        throw new ApprovalStoreError(
          'tooLarge',
          `${this.#file} is ${size} bytes, over PolicyLimits.approvalsFileBytesMax; remove old approvals`,
        );
      }
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const parsed = parseApprovalsFile(text);
    if (!parsed.ok) {
      throw new ApprovalStoreError(
        'corrupt',
        `${this.#file} is not a valid approvals file (${parsed.problems[0] ?? 'unknown problem'}); move it aside to start afresh`,
      );
    }
    return parsed.records;
  }

  #update<T>(
    change: (records: readonly ApprovalRecord[]) => { readonly records: readonly ApprovalRecord[]; readonly value: T },
  ): T {
    this.#acquireLock();
    try {
      const before = this.#read();
      const { records, value } = change(before);
      if (records !== before) this.#write(records);
      return value;
    } finally {
      unlinkSync(this.#lock);
    }
  }

  #write(records: readonly ApprovalRecord[]): void {
    const text = `${JSON.stringify(approvalsFileJson(records), null, 2)}\n`;
    // Never write a file this store would refuse to read back (for example a fractional time).
    const check = parseApprovalsFile(text);
    if (!check.ok) {
      throw new ApprovalStoreError('invalidApproval', `approvals not written: ${check.problems[0] ?? 'invalid'}`);
    }
    const temporary = `${this.#file}.${randomBytes(8).toString('hex')}.tmp`;
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.#file);
    // The rename is durable only once the directory entry is flushed.
    const dirFd = openSync(this.#dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  #acquireLock(): void {
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (let waitedMs = 0; ; waitedMs += lockPollMs) {
      try {
        const fd = openSync(this.#lock, 'wx', 0o600);
        try {
          writeSync(fd, String(process.pid));
        } finally {
          closeSync(fd);
        }
        return;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      if (this.#lockOwnerIsGone()) {
        unlinkQuietly(this.#lock);
        continue;
      }
      if (waitedMs >= this.#lockWaitMs) {
        throw new ApprovalStoreError(
          'locked',
          `${this.#lock} is held by another crustcore process; wait for it, or remove the file if no crustcore is running`,
        );
      }
      Atomics.wait(sleeper, 0, 0, lockPollMs);
    }
  }

  #lockOwnerIsGone(): boolean {
    let owner: number;
    try {
      const fd = openSync(this.#lock, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const buffer = Buffer.alloc(32);
        const length = readSync(fd, buffer, 0, buffer.length, 0);
        owner = Number(buffer.subarray(0, length).toString('utf8'));
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      return errorCode(error) === 'ENOENT';
    }
    // An unreadable pid may be a lock being written right now: wait rather than steal it.
    if (!Number.isSafeInteger(owner) || owner <= 0) return false;
    try {
      process.kill(owner, 0);
      return false;
    } catch (error) {
      return errorCode(error) === 'ESRCH';
    }
  }
}

function replaceAt(
  records: readonly ApprovalRecord[],
  index: number,
  record: ApprovalRecord,
): readonly ApprovalRecord[] {
  return records.map((existing, at) => (at === index ? record : existing));
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code: unknown = error.code;
  return typeof code === 'string' ? code : undefined;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}
