/**
 * The golden log: a small, fixed run (one task verified on its second attempt, one rejected after
 * two failing verify runs, one cancelled) written by the real writer with a pinned log id, time
 * and anchor key, ending with the checkpoint the host writes. `regenerate.ts` writes it to this
 * folder; `golden.test.ts` writes it again and compares bytes, so any change to the record format
 * shows up as a diff here.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StateDir, type MacKey } from '../../kernel/src/host/state-dir.js';
import { anchorKeyName } from '../../kernel/src/log/head-anchor.js';
import { LogWriter } from '../../kernel/src/log/log-writer.js';
import { Replayer } from '../../kernel/src/log/replay.js';

/** The log id pinned in the golden genesis record. */
export const goldenLogId = '0c0ffee00c0ffee00c0ffee00c0ffee0';

/** Writes the fixed anchor key (hex) as `keys/log-anchor.key` of a new state dir at `stateDirPath`. */
export function installGoldenKey(keyHex: string, stateDirPath: string): MacKey {
  const stateDir = StateDir.open({ CRUSTCORE_STATE_DIR: stateDirPath });
  mkdirSync(join(stateDirPath, 'keys'), { mode: 0o700 });
  writeFileSync(stateDir.keyPath(anchorKeyName), Buffer.from(keyHex.trim(), 'hex'), { mode: 0o600 });
  const key = stateDir.loadKey(anchorKeyName);
  if (key === null) throw new Error('the golden key was not installed');
  return key;
}

const digestOf = (n: number): string => n.toString(16).padStart(64, '0');

/** The golden events, stamped with seq from 1. */
export function goldenEvents(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  const push = (event: Record<string, unknown>): void => {
    const seq = events.length + 1;
    events.push({ ...event, seq, atMs: 1_735_689_600_000 + seq * 1000 });
  };
  const create = (taskId: string, goal: string): void =>
    push({ kind: 'taskCreated', taskId, goal, baseCommit: 'a'.repeat(40), verifyCommand: 'npm test', candidate: 'model' });
  const verifyRound = (taskId: string, attempt: number, exitCode: number, n: number): void => {
    const patchDigest = digestOf(n);
    const jobId = `job-${n}`;
    push({ kind: 'attemptStarted', taskId, attempt, attemptId: `attempt-${n}` });
    push({ kind: 'patchDerived', taskId, attempt, patchDigest, files: ['src/sum.ts'], patchBytes: 96 });
    push({ kind: 'verifyStarted', taskId, attempt, jobId, leaseMs: 60_000 });
    push({
      kind: 'verifyFinished',
      taskId,
      attempt,
      jobId,
      patchDigest,
      exitCode,
      timedOut: false,
      outputBytes: 512,
      outputDigest: digestOf(n + 1000),
      durationMs: 800,
      integrity: { verdict: 'clean' },
    });
  };
  create('fix-sum', 'make sum() add negative numbers');
  create('fix-date', 'parse ISO dates with offsets');
  create('tidy', 'rename helpers');
  verifyRound('fix-sum', 1, 1, 1);
  verifyRound('fix-date', 1, 1, 2);
  verifyRound('fix-sum', 2, 0, 3);
  verifyRound('fix-date', 2, 2, 4);
  push({ kind: 'modelClaimedDone', taskId: 'tidy', text: 'done!' });
  push({ kind: 'taskCancelled', taskId: 'tidy', reason: 'user cancelled' });
  return events;
}

/** Writes the golden log (and its `.head`) at `logPath`, MAC'd with `key`. */
export function writeGoldenLog(logPath: string, key: MacKey): void {
  const writer = LogWriter.create(logPath, { anchorKey: key, durability: 'batch', nowMs: 1_735_689_600_000, logId: goldenLogId });
  const events = goldenEvents();
  const replayer = new Replayer({ trackActions: true });
  for (let i = 0; i < events.length; i += 4) {
    const batch = events.slice(i, i + 4);
    writer.appendBatch(batch);
    for (const event of batch) replayer.apply(event);
  }
  writer.appendCheckpoint(replayer.checkpoint());
  writer.close();
}
