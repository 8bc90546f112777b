/**
 * The single-writer lock, with a real second process: a live holder blocks a second writer (which
 * writes nothing and names the holder's pid); a holder killed with SIGKILL leaves a stale lock
 * that the next writer takes over and reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectLog } from '../../src/log/inspect.js';
import { LogError } from '../../src/log/log-error.js';
import { LogWriter } from '../../src/log/log-writer.js';
import { lockPathOf } from '../../src/log/writer-lock.js';
import { sampleLog, scratch, type Scratch } from './log-fixture.js';

const childScript = fileURLToPath(new URL('./hold-lock-child.ts', import.meta.url));

let at: Scratch;
let child: ChildProcess | null = null;
beforeEach(() => {
  at = scratch();
});
afterEach(() => {
  child?.kill('SIGKILL');
  child = null;
  at.cleanup();
});

/** Starts the lock-holding child and resolves once it holds the lock. */
function holdLock(logPath: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript, logPath, at.stateDir.path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve(proc);
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    proc.on('exit', (code) => reject(new Error(`lock holder exited early (${code}): ${err}`)));
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.on('exit', () => resolve());
  });
}

describe('writer lock', () => {
  it('a live holder blocks a second writer, which names its pid and writes nothing', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const before = readFileSync(path);
    const holder = await holdLock(path);
    expect(() => LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 })).toThrow(
      new LogError(
        'locked',
        `log ${path} is locked by a running crustcore (pid ${holder.pid}); wait for it to finish or use another log.`,
      ),
    );
    expect(readFileSync(path)).toEqual(before);
    expect(JSON.parse(readFileSync(lockPathOf(path), 'utf8'))).toMatchObject({ pid: holder.pid });
  });

  it('a lock left by a killed writer is taken over, and the takeover is reported', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const holder = await holdLock(path);
    holder.kill('SIGKILL');
    await exited(holder);
    const writer = LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 });
    expect(writer.tookOverLockFrom?.pid).toBe(holder.pid);
    writer.append({ kind: 'clockTicked', seq: 10, atMs: 1_700_000_002_000 });
    writer.close();
    expect(inspectLog(path, { anchorKey: at.anchorKey }).status).toBe('intact');
    expect(() => readFileSync(lockPathOf(path))).toThrow(/ENOENT/);
  });

  it('the lock of this process is released on close and can be taken again', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const first = LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 });
    expect(() => LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 })).toThrow(
      /is locked by a running crustcore \(pid \d+\)/,
    );
    first.close();
    const second = LogWriter.open(path, { anchorKey: at.anchorKey, durability: 'batch', nowMs: 0 });
    expect(second.tookOverLockFrom).toBe(null);
    second.close();
  });
});
