/**
 * A task log that stopped for an approval, written by the real writer and driver: a protected
 * patch passed verify, the core asked for `acceptProtected`, and `requestApproval` minted and
 * filed it. The clock is a variable the test moves.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action } from '../../src/core/index.js';
import { requestApproval } from '../../src/host/approval-flow.js';
import { StateDir } from '../../src/host/state-dir.js';
import { TaskDriver } from '../../src/host/task-driver.js';
import { anchorKeyName } from '../../src/log/head-anchor.js';
import { LogWriter } from '../../src/log/log-writer.js';

export const baseCommit = 'b'.repeat(40);
export const attemptId = 'a'.repeat(32);
export const patchBytes = Buffer.from('diff --git a/test/x.test.js b/test/x.test.js\n');
export const patchDigest = createHash('sha256').update(patchBytes).digest('hex');
export const outputDigest = 'e'.repeat(64);
export const startMs = 1_700_000_000_000;

/** One world: a state dir, a repo state folder, a task log awaiting approval `approvalId`. */
export interface ApprovalWorld {
  readonly root: string;
  readonly stateDir: StateDir;
  readonly repoState: string;
  readonly taskId: string;
  readonly logPath: string;
  readonly approvalId: string;
  readonly expiresAtMs: number;
  /** The actions `step` returned for `approvalRequested`. */
  readonly requestedActions: readonly Action[];
  readonly clock: { nowMs: number };
  readonly cleanup: () => void;
}

/**
 * Writes the log of task `taskId` up to its approval request and closes it with a checkpoint;
 * `newBranch` is the run's `--branch`, which the approval then carries.
 */
export function approvalWorld(
  taskId = 't1',
  existing?: { root: string; stateDir: StateDir },
  options: { readonly newBranch?: string } = {},
): ApprovalWorld {
  const root = existing?.root ?? mkdtempSync(join(tmpdir(), 'crustcore-approval-'));
  const stateDir = existing?.stateDir ?? StateDir.open({ CRUSTCORE_STATE_DIR: join(root, 'state') });
  const repoState = stateDir.repoDir(root);
  const logsDir = join(repoState, 'logs');
  const clock = { nowMs: startMs };
  const logPath = join(logsDir, `${taskId}.jsonl`);
  mkdirSync(logsDir, { recursive: true, mode: 0o700 });
  const writer = LogWriter.create(logPath, {
    anchorKey: stateDir.loadOrCreateKey(anchorKeyName),
    durability: 'batch',
    nowMs: clock.nowMs,
  });
  const driver = new TaskDriver(writer, () => clock.nowMs);
  driver.emit({
    kind: 'taskCreated',
    taskId,
    goal: 'fix add',
    baseCommit,
    verifyCommand: 'npm test',
    candidate: 'patch',
  });
  driver.emit({ kind: 'attemptStarted', taskId, attempt: 1, attemptId });
  driver.emit({
    kind: 'patchDerived',
    taskId,
    attempt: 1,
    patchDigest,
    files: ['src/add.js', 'test/x.test.js'],
    patchBytes: patchBytes.length,
  });
  driver.emit({ kind: 'verifyStarted', taskId, attempt: 1, jobId: 'job1', leaseMs: 60_000 });
  clock.nowMs += 1500;
  const actions = driver.emit({
    kind: 'verifyFinished',
    taskId,
    attempt: 1,
    jobId: 'job1',
    patchDigest,
    exitCode: 0,
    timedOut: false,
    outputBytes: 0,
    outputDigest,
    durationMs: 1500,
    integrity: { verdict: 'protected', violations: [{ path: 'test/x.test.js', rule: 'testFile' }] },
  });
  const request = actions.find((action) => action.kind === 'requestApproval');
  if (request?.kind !== 'requestApproval') throw new Error('the core asked for no approval');
  const requested = requestApproval({
    stateDir,
    repoDir: root,
    repoState,
    driver,
    action: request,
    files: ['src/add.js', 'test/x.test.js'],
    patch: patchBytes,
    nowMs: clock.nowMs,
    ...(options.newBranch === undefined ? {} : { newBranch: options.newBranch }),
  });
  driver.close();
  return {
    root,
    stateDir,
    repoState,
    taskId,
    logPath,
    approvalId: requested.approvalId,
    expiresAtMs: requested.expiresAtMs,
    requestedActions: requested.actions,
    clock,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Every regular file under `dir` by relative path, with its mode and SHA-256: equal means nothing changed. */
export function snapshotFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (relative: string): void => {
    const full = relative === '' ? dir : join(dir, relative);
    for (const name of readdirSync(full).sort()) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const stats = lstatSync(join(dir, child));
      if (stats.isDirectory()) walk(child);
      else {
        const digest = createHash('sha256')
          .update(readFileSync(join(dir, child)))
          .digest('hex');
        files[child] = `${(stats.mode & 0o777).toString(8)} ${digest}`;
      }
    }
  };
  walk('');
  return files;
}
