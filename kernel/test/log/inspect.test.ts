/**
 * The verifier names exactly what is wrong and where. Method: write real logs with the real
 * writer, damage the files the way an attacker or a crash would (flip, drop, reorder, splice,
 * truncate, garbage), and compare the whole `inspectLog` report.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateDir } from '../../src/host/state-dir.js';
import { anchorKeyName, anchorPathOf } from '../../src/log/head-anchor.js';
import { inspectLog, type InspectReport } from '../../src/log/inspect.js';
import { LogError } from '../../src/log/log-error.js';
import { LogWriter } from '../../src/log/log-writer.js';
import { LogLimits } from '../../src/log/record-format.js';
import { sampleEvents } from './sample-events.js';
import { sampleLog, scratch, writeLog, type Scratch } from './log-fixture.js';

let at: Scratch;
beforeEach(() => {
  at = scratch();
});
afterEach(() => at.cleanup());

/** Start offset of every line. */
function lineStarts(bytes: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 0x0a) starts.push(i + 1);
  return starts;
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

const taskSummary = (count: number): InspectReport['tasks'] =>
  Array.from({ length: count }, (_, i) => ({ taskId: `task-${i + 1}`, status: 'verified', attempts: 2, reason: null }));

describe('inspectLog on intact logs', () => {
  it('reports an intact log, its anchor and the tasks replayed through step', () => {
    const path = sampleLog(at, 'a.jsonl', 2, '0123456789abcdef0123456789abcdef');
    const bytes = readFileSync(path);
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect(report).toEqual({
      path,
      status: 'intact',
      firstBadRecord: null,
      byteOffset: null,
      reason: null,
      logId: '0123456789abcdef0123456789abcdef',
      createdAtMs: 1_700_000_000_000,
      records: 19,
      events: 18,
      checkpoints: 0,
      bytes: bytes.length,
      lastSeq: 18,
      lastHash: lines(path)[18]?.slice(-66, -2),
      anchor: 'verified',
      anchorSeq: 18,
      tasks: taskSummary(2),
      replayFailure: null,
    });
  });

  it('writes the same bytes in `every` and `batch` durability', () => {
    const events = sampleEvents(2);
    const every = writeLog(at, 'every.jsonl', events, { durability: 'every', logId: 'aa'.repeat(16) });
    const batch = writeLog(at, 'batch.jsonl', events, { durability: 'batch', batchSize: 7, logId: 'aa'.repeat(16) });
    expect(readFileSync(every, 'utf8')).toBe(readFileSync(batch, 'utf8'));
    expect(inspectLog(every, { anchorKey: at.anchorKey }).status).toBe('intact');
  });

  it('without the anchor key, still compares the anchor and says the MAC was not checked', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const report = inspectLog(path, { anchorKey: null });
    expect([report.status, report.anchor, report.anchorSeq]).toEqual(['intact', 'keyUnavailable', 9]);
  });

  it('appends to an existing log after reopening, and the anchor follows', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const writer = LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'every', nowMs: 5 });
    const events = sampleEvents(2).slice(9);
    expect(writer.appendBatch(events)).toBe(10);
    writer.close();
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.records, report.tasks]).toEqual(['intact', 19, taskSummary(2)]);
  });
});

describe('inspectLog on damaged logs (REDTEAM J 46-49)', () => {
  it('J46: a flipped byte in record 500 is named as record 500', () => {
    const path = sampleLog(at, 'a.jsonl', 60);
    const bytes = readFileSync(path);
    const starts = lineStarts(bytes);
    const at500 = starts[500] ?? 0;
    bytes[at500 + 40] = (bytes[at500 + 40] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.byteOffset, report.reason, report.records]).toEqual([
      'tampered',
      500,
      at500,
      'hash mismatch: the record was changed after it was written',
      500,
    ]);
  });

  it('J47: dropping the last N records is detected against the head anchor', () => {
    const path = sampleLog(at, 'a.jsonl', 2);
    const kept = lines(path).slice(0, 16);
    writeFileSync(path, `${kept.join('\n')}\n`);
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.byteOffset, report.reason, report.anchor]).toEqual([
      'tampered',
      16,
      Buffer.byteLength(`${kept.join('\n')}\n`),
      'the log ends at record 15 but the head anchor names record 18: 3 record(s) removed from the end',
      'invalid',
    ]);
  });

  it('J47: dropping the tail and rolling the anchor back needs the key: a forged anchor is refused', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const other = scratch();
    try {
      // A valid-looking anchor for the truncated log, MAC'd under a different key.
      const kept = lines(path).slice(0, 5);
      writeFileSync(path, `${kept.join('\n')}\n`);
      const forger = LogWriter.create(join(other.dir, 'x.jsonl'), {
        anchorKey: other.anchorKey,
        durability: 'batch',
        nowMs: 0,
      });
      forger.close();
      const anchor = JSON.parse(readFileSync(anchorPathOf(path), 'utf8')) as Record<string, unknown>;
      const forged = { ...anchor, seq: 4, hash: kept[4]?.slice(-66, -2) };
      writeFileSync(anchorPathOf(path), `${JSON.stringify(forged)}\n`);
      const report = inspectLog(path, { anchorKey: at.anchorKey });
      expect([report.status, report.reason]).toEqual([
        'tampered',
        "the head anchor's MAC is invalid: it was forged, or written under another 'log-anchor' key",
      ]);
    } finally {
      other.cleanup();
    }
  });

  it('J48: two reordered records are detected at the first of them', () => {
    const path = sampleLog(at, 'a.jsonl', 2);
    const all = lines(path);
    [all[5], all[6]] = [all[6] ?? '', all[5] ?? ''];
    writeFileSync(path, `${all.join('\n')}\n`);
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.reason]).toEqual([
      'tampered',
      5,
      '"seq" is 6 where 5 belongs: records were removed, inserted or reordered',
    ]);
  });

  it('J48: a record spliced in from another log is detected by the chain', () => {
    const path = sampleLog(at, 'a.jsonl', 2);
    const otherPath = sampleLog(at, 'b.jsonl', 2);
    const all = lines(path);
    all[7] = lines(otherPath)[7] ?? '';
    writeFileSync(path, `${all.join('\n')}\n`);
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.reason]).toEqual([
      'tampered',
      7,
      '"prev" is not the hash of record 6: records were reordered, or spliced in from another log',
    ]);
  });

  it('J48: a whole log swapped for another one is caught by the anchor', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const otherPath = sampleLog(at, 'b.jsonl', 1);
    writeFileSync(path, readFileSync(otherPath));
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect(report.status).toBe('tampered');
    expect(report.reason).toMatch(/^the head anchor belongs to log [0-9a-f]{32}, not to this log \([0-9a-f]{32}\)$/);
  });

  it('J49: a torn final line is reported with its record and offset, never as intact', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const size = readFileSync(path).length;
    appendFileSync(path, '{"seq":10,"prev":"ab');
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.byteOffset, report.reason, report.records]).toEqual([
      'torn',
      10,
      size,
      'torn final line: 20 bytes without a terminating newline (an append was cut off)',
      10,
    ]);
    expect(() => LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 })).toThrow(
      new LogError(
        'notIntact',
        `log ${path} is torn at record 10 (torn final line: 20 bytes without a terminating newline (an append was cut off)); refusing to append. ` +
          `Run 'crustcore inspect ${path}', keep what is intact with 'crustcore export ${path}', and start a new log.`,
      ),
    );
  });

  it('records written after the anchor are not accepted as intact', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const anchorText = readFileSync(anchorPathOf(path));
    const writer = LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 });
    writer.append({ kind: 'clockTicked', seq: 10, atMs: 1_700_000_001_000 });
    writer.close();
    writeFileSync(anchorPathOf(path), anchorText);
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.reason]).toEqual([
      'unanchored',
      10,
      'records 10..10 come after the head anchor (record 9): appended without the anchor key, or a crash before the anchor was written',
    ]);
  });

  it('a missing anchor is reported', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    rmSync(anchorPathOf(path));
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.anchor, report.reason]).toEqual([
      'unanchored',
      'missing',
      `the head anchor ${anchorPathOf(path)} is missing, so records removed from the end cannot be ruled out`,
    ]);
  });

  it.each([
    ['an empty file', Buffer.alloc(0), 'empty', 0, 'the log file is empty (no genesis record)'],
    [
      'not JSON',
      Buffer.from('hello world\n'),
      'notALog',
      0,
      'the first line is not a crustcore log record: line too short to be a record',
    ],
    [
      'binary garbage',
      Buffer.from(
        Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 256)
          .filter((byte) => byte !== 0x0a)
          .concat([0x0a]),
      ),
      'notALog',
      0,
      'the first line is not a crustcore log record: no "hash" field at the end of the line',
    ],
  ])('%s is reported, not thrown', (_name, bytes, status, record, reason) => {
    const path = join(at.dir, 'bad.jsonl');
    writeFileSync(path, bytes);
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.reason]).toEqual([status, record, reason]);
  });

  it('a genesis of another format version is not read as a log', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const text = readFileSync(path, 'utf8').replace('"version":1', '"version":2');
    writeFileSync(path, text);
    // The changed genesis fails its hash first: the verifier never trusts unhashed content.
    expect(inspectLog(path, { anchorKey: at.anchorKey }).reason).toBe(
      'hash mismatch: the record was changed after it was written',
    );
  });

  it('a line over 1 MiB is refused without reading it whole', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const size = readFileSync(path).length;
    appendFileSync(path, Buffer.alloc(LogLimits.recordBytesMax + 10, 0x61));
    const report = inspectLog(path, { anchorKey: at.anchorKey });
    expect([report.status, report.firstBadRecord, report.byteOffset, report.reason]).toEqual([
      'tampered',
      10,
      size,
      'the line is longer than 1048576 bytes (recordBytesMax)',
    ]);
  });

  it('a missing file is unreadable', () => {
    const report = inspectLog(join(at.dir, 'nope.jsonl'), { anchorKey: null });
    expect([report.status, report.reason]).toEqual(['unreadable', 'cannot open the log (no such file)']);
  });

  it('the writer refuses an oversized record and writes nothing', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const before = readFileSync(path);
    const writer = LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 });
    expect(() =>
      writer.append({ kind: 'clockTicked', seq: 10, atMs: 1, pad: 'x'.repeat(LogLimits.recordBytesMax) }),
    ).toThrow(LogError);
    writer.close();
    expect(readFileSync(path)).toEqual(before);
  });

  it('the anchor key in the state dir is the one the writer used', () => {
    const key = StateDir.open({ CRUSTCORE_STATE_DIR: at.stateDir.path }).loadKey(anchorKeyName);
    const path = sampleLog(at, 'a.jsonl', 1);
    expect(inspectLog(path, { anchorKey: key }).anchor).toBe('verified');
  });
});
