/**
 * Replay re-runs `step` over a log and compares its checkpoints; export prints the verified events
 * as JSONL through the redaction hook. Real logs from the real writer; the core is the real core.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/index.js';
import { exportLog } from '../../src/log/export.js';
import { LogWriter } from '../../src/log/log-writer.js';
import { Replayer, replayLog } from '../../src/log/replay.js';
import { sampleEvents } from './sample-events.js';
import { scratch, type Scratch } from './log-fixture.js';

let at: Scratch;
beforeEach(() => {
  at = scratch();
});
afterEach(() => at.cleanup());

function logWithCheckpoint(
  name: string,
  events: readonly Record<string, unknown>[],
  tamperCheckpoint: boolean,
): string {
  const path = join(at.dir, name);
  const writer = LogWriter.create(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 });
  writer.appendBatch(events);
  const replayer = new Replayer({ trackActions: true });
  for (const event of events) replayer.apply(event);
  const checkpoint = replayer.checkpoint();
  writer.appendCheckpoint(tamperCheckpoint ? { ...checkpoint, stateSha256: '0'.repeat(64) } : checkpoint);
  writer.close();
  return path;
}

describe('replayLog', () => {
  it('replays to the checkpoint the host wrote', () => {
    const events = sampleEvents(2);
    const path = logWithCheckpoint('a.jsonl', events, false);
    const report = replayLog(path, { anchorKey: at.anchorKey });
    expect(report.scan.status).toBe('intact');
    expect(report.failure).toBe(null);
    expect(report.checkpoints.map((checkpoint) => [checkpoint.record, checkpoint.matches])).toEqual([[19, true]]);
    expect(report.final).toEqual(report.checkpoints[0]?.actual);
    expect(report.final?.eventCount).toBe(18);
  });

  it('reports a checkpoint that replay does not reproduce', () => {
    const path = logWithCheckpoint('a.jsonl', sampleEvents(1), true);
    const report = replayLog(path, { anchorKey: at.anchorKey });
    expect(report.checkpoints.map((checkpoint) => [checkpoint.matches, checkpoint.expected.stateSha256])).toEqual([
      [false, '0'.repeat(64)],
    ]);
  });

  it('a log whose event breaks a kernel invariant stops replay with the record, not a throw', () => {
    const path = join(at.dir, 'bad.jsonl');
    const writer = LogWriter.create(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 });
    writer.append({ kind: 'clockTicked', seq: 0, atMs: 1 });
    writer.close();
    const report = replayLog(path, { anchorKey: at.anchorKey });
    expect([report.failure?.record, report.final]).toEqual([1, null]);
  });
});

describe('exportLog', () => {
  it('prints every event as canonical JSON, one per line, through the redaction hook', () => {
    const events = sampleEvents(1);
    const path = logWithCheckpoint('a.jsonl', events, false);
    const out: string[] = [];
    const report = exportLog(path, {
      anchorKey: at.anchorKey,
      redact: (text) => text.replaceAll('npm test', '[REDACTED:cmd]'),
      write: (line) => out.push(line),
    });
    expect(report.exported).toBe(9);
    expect(out).toEqual(events.map((event) => `${canonicalJson(event).replaceAll('npm test', '[REDACTED:cmd]')}\n`));
  });

  it('stops when redaction breaks the JSON', () => {
    const path = logWithCheckpoint('a.jsonl', sampleEvents(1), false);
    const out: string[] = [];
    const report = exportLog(path, {
      anchorKey: at.anchorKey,
      redact: (text) => text.slice(1),
      write: (line) => out.push(line),
    });
    expect([report.exported, report.redactionFailure, out]).toEqual([
      0,
      { record: 1, reason: 'redaction did not return a one-line JSON object' },
      [],
    ]);
  });
});
