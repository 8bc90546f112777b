/**
 * Resuming a task whose run has ended: the task's log is opened for appending (only when it is
 * intact and anchored), every event is folded through `step` again to rebuild the core's state,
 * and further facts continue the same log with the same semantics as the run that wrote it.
 * The verify evidence a later step needs (files, exit status, output digest, receipt) is read
 * back from the log, never from a file a process could have rewritten.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPatchToTree, createAttemptTree } from '../attempt/index.js';
import type { Event, EventOf, Task } from '../core/index.js';
import { anchorKeyName } from '../log/head-anchor.js';
import { LogError } from '../log/log-error.js';
import { LogWriter, type CheckpointBody } from '../log/log-writer.js';
import { issueReceipt, receiptsKeyName, type Receipt } from '../log/receipts.js';
import { scanLog } from '../log/scan.js';
import { sealRecordedPatch, sha256Hex, type RecordedVerify } from '../verify/gate.js';
import type { VerifiedPatch } from '../verify/verified-patch.js';
import type { MacKey, StateDir } from './state-dir.js';
import { TaskDriver } from './task-driver.js';

/** Bounds of resuming. */
export const ResumeLimits = {
  /** Bytes of a kept patch file read back for sealing. */
  patchBytesMax: 64 * 1024 * 1024,
} as const;

/** Why a task could not be resumed or its patch sealed; `message` is one line. */
export type ResumeErrorCode = 'badTaskId' | 'noSuchTask' | 'missingKey' | 'notVerified' | 'patchUnusable';

/** An expected failure of resuming: one line, what failed, why, what to do. */
export class ResumeError extends Error {
  override readonly name = 'ResumeError';
  readonly code: ResumeErrorCode;

  constructor(code: ResumeErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Task ids as `run` mints them; anything else never names a file. */
const taskIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** The log file of task `taskId` in a repo's state folder; refuses an id that is not a task id. */
export function taskLogPath(repoState: string, taskId: string): string {
  if (!taskIdPattern.test(taskId)) {
    throw new ResumeError('badTaskId', `'${taskId}' is not a task id; copy it from the output of 'crustcore run'`);
  }
  return join(repoState, 'logs', `${taskId}.jsonl`);
}

/** The verify evidence the log holds for the current attempt of a task. */
export interface RecordedEvidence {
  readonly files: readonly string[];
  readonly verify: RecordedVerify;
  readonly durationMs: number;
  /** `atMs` of the `verifyStarted` and `verifyFinished` events. */
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  /** The receipt MAC the run issued for this verify result, recomputed from the log; '' without the key. */
  readonly receipt: string;
}

interface LoggedEvent {
  readonly recordSeq: number;
  readonly event: Event;
}

/** One task's log, reopened: the driver continues it; the events it held are kept for evidence. */
export class ResumedTask {
  /** Drives further facts into the same log. */
  readonly driver: TaskDriver;
  readonly taskId: string;
  readonly #events: readonly LoggedEvent[];
  readonly #receiptsKey: MacKey | null;

  private constructor(driver: TaskDriver, taskId: string, events: readonly LoggedEvent[], receiptsKey: MacKey | null) {
    this.driver = driver;
    this.taskId = taskId;
    this.#events = events;
    this.#receiptsKey = receiptsKey;
  }

  /**
   * Opens the log of `taskId` in `repoState` for appending and rebuilds the core state from its
   * events. A torn, tampered or unanchored log is refused (`LogError` with the reason); the
   * single-writer lock is held until `close` or `abandon`.
   */
  static open(input: {
    readonly stateDir: StateDir;
    readonly repoState: string;
    readonly taskId: string;
    readonly nowMs: number;
    readonly readClockMs?: () => number;
  }): ResumedTask {
    const logPath = taskLogPath(input.repoState, input.taskId);
    const anchorKey = input.stateDir.loadKey(anchorKeyName);
    if (anchorKey === null) {
      throw new ResumeError(
        'missingKey',
        `the state dir ${input.stateDir.path} has no '${anchorKeyName}' key, so log ${logPath} cannot be checked; nothing was changed`,
      );
    }
    const writer = LogWriter.open(logPath, { anchorKey, durability: 'batch', nowMs: input.nowMs });
    try {
      const events: LoggedEvent[] = [];
      const report = scanLog(logPath, {
        anchorKey,
        visit: (record) => {
          if (record.kind === 'event') events.push({ recordSeq: record.seq, event: record.body as unknown as Event });
        },
      });
      if (report.status !== 'intact') {
        throw new LogError(
          'notIntact',
          `log ${logPath} changed while it was being opened (${report.status}); run again`,
        );
      }
      const driver = TaskDriver.resume(
        writer,
        events.map((logged) => logged.event as unknown as Readonly<Record<string, unknown>>),
        input.readClockMs,
      );
      if (driver.task(input.taskId) === undefined) {
        throw new ResumeError('noSuchTask', `log ${logPath} holds no task ${input.taskId}`);
      }
      return new ResumedTask(driver, input.taskId, events, input.stateDir.loadKey(receiptsKeyName));
    } catch (error) {
      writer.close();
      throw error;
    }
  }

  /** The task as the core sees it now. */
  task(): Task {
    const task = this.driver.task(this.taskId);
    if (task === undefined) throw new Error(`task ${this.taskId} vanished from the kernel state`);
    return task;
  }

  /** The log's path. */
  get logPath(): string {
    return this.driver.logPath;
  }

  /**
   * The verify evidence of the task's current attempt for `patchDigest`, read from the log's
   * `patchDerived`, `verifyStarted` and `verifyFinished` events; null when the log has none.
   */
  evidence(patchDigest: string): RecordedEvidence | null {
    const task = this.task();
    const record = task.attempts[task.attempt - 1];
    if (record?.jobId === null || record === undefined) return null;
    const jobId = record.jobId;
    const derived = this.#last(
      'patchDerived',
      (event) => event.taskId === task.taskId && event.attempt === task.attempt && event.patchDigest === patchDigest,
    );
    const started = this.#last('verifyStarted', (event) => event.taskId === task.taskId && event.jobId === jobId);
    const finished = this.#last(
      'verifyFinished',
      (event) => event.taskId === task.taskId && event.jobId === jobId && event.patchDigest === patchDigest,
    );
    if (derived === undefined || started === undefined || finished === undefined) return null;
    return {
      files: derived.event.files,
      verify: {
        patchDigest: finished.event.patchDigest,
        exitCode: finished.event.exitCode,
        timedOut: finished.event.timedOut,
        outputDigest: finished.event.outputDigest,
      },
      durationMs: finished.event.durationMs,
      startedAtMs: started.event.atMs,
      finishedAtMs: finished.event.atMs,
      receipt: this.#receiptFor(finished.recordSeq),
    };
  }

  /**
   * Seals the VerifiedPatch of a task the log shows verified, from the log's evidence and the
   * patch bytes the kernel kept at `patchPath`: the bytes must hash to the logged digest, and a
   * fresh attempt tree at the base must re-derive exactly that patch.
   */
  async sealVerified(input: {
    readonly repoDir: string;
    readonly repoState: string;
    readonly patchPath: string;
  }): Promise<VerifiedPatch> {
    const task = this.task();
    const record = task.attempts[task.attempt - 1];
    const outcome = record?.outcome;
    const approvedOrPassed =
      outcome?.verdict === 'passed' || (outcome?.verdict === 'protected' && outcome.approvalId !== null);
    if (
      task.verifiedBy === null ||
      task.patchDigest === null ||
      !approvedOrPassed ||
      record?.patchDigest !== task.patchDigest
    ) {
      throw new ResumeError('notVerified', `task ${task.taskId} is ${task.status}: its log shows no verified patch`);
    }
    const evidence = this.evidence(task.patchDigest);
    if (evidence === null) {
      throw new ResumeError('notVerified', `the log of task ${task.taskId} holds no verify run for its patch`);
    }
    const bytes = readKeptPatch(input.patchPath);
    if (sha256Hex(bytes) !== task.patchDigest) {
      throw new ResumeError(
        'patchUnusable',
        `the kept patch ${input.patchPath} no longer hashes to the verified digest ${task.patchDigest}: it was changed; nothing was integrated`,
      );
    }
    const created = await createAttemptTree({
      repoDir: input.repoDir,
      baseCommit: task.baseCommit,
      stateDir: input.repoState,
    });
    if (!created.ok) throw new ResumeError('patchUnusable', `cannot re-derive the patch: ${created.error.detail}`);
    try {
      const applied = await applyPatchToTree(created.attempt, bytes);
      if (!applied.ok) {
        const detail = 'path' in applied.error ? `${applied.error.code} ${applied.error.path}` : applied.error.detail;
        throw new ResumeError(
          'patchUnusable',
          `the kept patch no longer applies to base ${task.baseCommit}: ${detail}`,
        );
      }
      const sealed = sealRecordedPatch({
        taskId: task.taskId,
        patch: applied.patch,
        verifyCommand: task.verifyCommand,
        verify: evidence.verify,
        receipt: evidence.receipt,
        startedAtMs: evidence.startedAtMs,
        finishedAtMs: evidence.finishedAtMs,
      });
      if (!sealed.ok) throw new ResumeError('patchUnusable', `the gate refused the patch: ${sealed.refusal.detail}`);
      return sealed.patch;
    } finally {
      created.attempt.remove();
    }
  }

  /** Writes the checkpoint of the state reached and releases the log. */
  close(): CheckpointBody {
    return this.driver.close();
  }

  /** Releases the log without writing anything more. */
  abandon(): void {
    this.driver.abandon();
  }

  #last<K extends Event['kind']>(
    kind: K,
    match: (event: EventOf<K>) => boolean,
  ): { readonly recordSeq: number; readonly event: EventOf<K> } | undefined {
    for (let index = this.#events.length - 1; index >= 0; index--) {
      const logged = this.#events[index];
      if (logged?.event.kind !== kind) continue;
      const event = logged.event as EventOf<K>;
      if (match(event)) return { recordSeq: logged.recordSeq, event };
    }
    return undefined;
  }

  /** Re-issues the log's receipt chain (one receipt per verify result, in order) up to `recordSeq`. */
  #receiptFor(recordSeq: number): string {
    const key = this.#receiptsKey;
    if (key === null) return '';
    let previous: Receipt | null = null;
    for (const logged of this.#events) {
      if (logged.event.kind !== 'verifyFinished') continue;
      try {
        previous = issueReceipt(key, this.driver.logId, previous, logged.recordSeq, logged.event.outputDigest);
      } catch {
        return '';
      }
      if (logged.recordSeq === recordSeq) return previous.mac;
    }
    return '';
  }
}

/** Reads a patch the kernel kept in its state dir: a regular file (never a symlink), bounded. */
export function readKeptPatch(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ResumeError('patchUnusable', `the kept patch ${path} cannot be read (${code}); run the task again`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > ResumeLimits.patchBytesMax) {
      throw new ResumeError(
        'patchUnusable',
        `the kept patch ${path} is not a regular file within ${ResumeLimits.patchBytesMax} bytes`,
      );
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
