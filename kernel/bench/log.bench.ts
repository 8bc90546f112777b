/**
 * Event log throughput: appends per second with `every` (fsync per record) and `batch` (fsync per
 * 1,000 records) durability, and the time to inspect a 100,000-event log: the chain and anchor
 * check alone (target ≤ 170 ms) and with the per-task summary replayed through `step`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StateDir } from '../src/host/state-dir.js';
import { anchorKeyName } from '../src/log/head-anchor.js';
import { inspectLog } from '../src/log/inspect.js';
import { LogWriter } from '../src/log/log-writer.js';
import { scanLog } from '../src/log/scan.js';
import { sampleEvents } from '../test/log/sample-events.js';

/** One printed figure (mirrors xtask's BenchFigure). */
type BenchFigure = {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: { readonly op: '<=' | '>='; readonly value: number };
};

const inspectRuns = 5;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Runs the log benchmark. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'crustcore-log-bench-'));
  try {
    const key = StateDir.open({ CRUSTCORE_STATE_DIR: join(dir, 'state') }).loadOrCreateKey(anchorKeyName);
    // 200 tasks with 246 heartbeats per verify run: 100,200 events.
    const events = sampleEvents(200, 246);

    const everyPath = join(dir, 'every.jsonl');
    const everyWriter = LogWriter.create(everyPath, { anchorKey: key, durability: 'every', nowMs: 0 });
    const everyCount = 500;
    let start = performance.now();
    for (const event of events.slice(0, everyCount)) everyWriter.append(event);
    const everyMs = performance.now() - start;
    everyWriter.close();

    const batchPath = join(dir, 'batch.jsonl');
    const batchWriter = LogWriter.create(batchPath, { anchorKey: key, durability: 'batch', nowMs: 0 });
    start = performance.now();
    for (let i = 0; i < events.length; i += 1000) batchWriter.appendBatch(events.slice(i, i + 1000));
    const batchMs = performance.now() - start;
    batchWriter.close();

    const verifyMs: number[] = [];
    const inspectMs: number[] = [];
    for (let run = 0; run < inspectRuns; run++) {
      start = performance.now();
      const scan = scanLog(batchPath, { anchorKey: key });
      verifyMs.push(performance.now() - start);
      start = performance.now();
      const report = inspectLog(batchPath, { anchorKey: key });
      inspectMs.push(performance.now() - start);
      if (scan.status !== 'intact' || report.status !== 'intact') throw new Error('bench log is not intact');
    }

    return [
      {
        name: 'append, durability every (fsync per record)',
        value: Math.round((everyCount / everyMs) * 1000),
        unit: 'events/s',
      },
      {
        name: 'append, durability batch (1,000 per fsync)',
        value: Math.round((events.length / batchMs) * 1000),
        unit: 'events/s',
      },
      {
        name: 'inspect 100,000 events: chain + anchor (median of 5)',
        value: Math.round(median(verifyMs)),
        unit: 'ms',
        target: { op: '<=', value: 170 },
      },
      {
        name: 'inspect 100,000 events: with per-task replay summary (median of 5)',
        value: Math.round(median(inspectMs)),
        unit: 'ms',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
