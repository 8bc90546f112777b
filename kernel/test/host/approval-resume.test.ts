/**
 * Resuming a task log: `ResumedTask.open` refuses a log that is not intact, rebuilds exactly the
 * state a replay derives, continues `seq` after the last event, holds the single-writer lock, and
 * reads the verify evidence (with the receipt the run issued) back from the log. Method: real logs
 * written by the real driver in temp dirs; whole-object equality.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, type Event } from '../../src/core/index.js';
import { ResumedTask, ResumeError } from '../../src/host/resume-task.js';
import { LogError } from '../../src/log/log-error.js';
import { issueReceipt, receiptsKeyName } from '../../src/log/receipts.js';
import { Replayer, replayLog } from '../../src/log/replay.js';
import { scanLog } from '../../src/log/scan.js';
import { anchorKeyName } from '../../src/log/head-anchor.js';
import { approvalWorld, outputDigest, patchDigest, startMs, type ApprovalWorld } from './approval-fixture.js';

const worlds: ApprovalWorld[] = [];
afterEach(() => {
  for (const world of worlds.splice(0)) world.cleanup();
});

function world(): ApprovalWorld {
  const made = approvalWorld();
  worlds.push(made);
  return made;
}

function open(w: ApprovalWorld, taskId = w.taskId): ResumedTask {
  return ResumedTask.open({
    stateDir: w.stateDir,
    repoState: w.repoState,
    taskId,
    nowMs: w.clock.nowMs,
    readClockMs: () => w.clock.nowMs,
  });
}

function loggedEvents(w: ApprovalWorld): Event[] {
  const events: Event[] = [];
  scanLog(w.logPath, {
    anchorKey: w.stateDir.loadKey(anchorKeyName),
    visit: (record) => {
      if (record.kind === 'event') events.push(record.body as unknown as Event);
    },
  });
  return events;
}

describe('ResumedTask', () => {
  it('rebuilds the replayed state, continues seq after the last event, and the log still replays', () => {
    const w = world();
    const replayer = new Replayer({ trackActions: true });
    for (const event of loggedEvents(w)) replayer.apply(event as unknown as Record<string, unknown>);
    const resumed = open(w);
    expect(canonicalJson(resumed.driver.state)).toBe(canonicalJson(replayer.state));
    expect(resumed.driver.state.lastSeq).toBe(6);
    w.clock.nowMs += 5;
    expect(resumed.driver.emit({ kind: 'modelClaimedDone', taskId: 't1', text: 'done' })).toEqual([]);
    resumed.close();
    const events = loggedEvents(w);
    expect(events.at(-1)).toEqual({
      kind: 'modelClaimedDone',
      taskId: 't1',
      text: 'done',
      seq: 7,
      atMs: w.clock.nowMs,
    });
    const report = replayLog(w.logPath, { anchorKey: w.stateDir.loadKey(anchorKeyName) });
    expect({
      status: report.scan.status,
      checkpoints: report.checkpoints.map((c) => c.matches),
      final: report.final?.eventCount,
    }).toEqual({ status: 'intact', checkpoints: [true, true], final: 7 });
  });

  it('reads the verify evidence and the receipt of the run back from the log', () => {
    const w = world();
    const key = w.stateDir.loadOrCreateKey(receiptsKeyName);
    const resumed = open(w);
    try {
      const receipt = issueReceipt(key, resumed.driver.logId, null, 5, outputDigest);
      expect(resumed.evidence(patchDigest)).toEqual({
        files: ['src/add.js', 'test/x.test.js'],
        verify: { patchDigest, exitCode: 0, timedOut: false, outputDigest },
        durationMs: 1500,
        startedAtMs: startMs,
        finishedAtMs: startMs + 1500,
        receipt: receipt.mac,
      });
      expect(resumed.evidence('f'.repeat(64))).toBe(null);
    } finally {
      resumed.abandon();
    }
  });

  it('holds the single-writer lock while open', () => {
    const w = world();
    const resumed = open(w);
    try {
      expect(() => open(w)).toThrow(LogError);
    } finally {
      resumed.abandon();
    }
    open(w).abandon();
  });

  it('refuses a torn log with the reason and writes nothing', () => {
    const w = world();
    appendFileSync(w.logPath, '{"seq":8,"prev":"');
    const bytes = readFileSync(w.logPath);
    let thrown: unknown;
    try {
      open(w);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LogError);
    expect((thrown as LogError).code).toBe('notIntact');
    expect((thrown as LogError).message).toMatch(
      /^log .* is torn at record 8 \(.*\); refusing to append\. Run 'crustcore inspect /,
    );
    expect(readFileSync(w.logPath)).toEqual(bytes);
  });

  it('refuses a task id that is not one, and a task the log does not hold', () => {
    const w = world();
    expect(() => open(w, '../../etc/passwd')).toThrow(
      new ResumeError('badTaskId', "'../../etc/passwd' is not a task id; copy it from the output of 'crustcore run'"),
    );
    expect(() => open(w, 't9')).toThrow(LogError);
  });
});
