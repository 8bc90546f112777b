/**
 * REDTEAM J46–J49: audit integrity of a log written by a real run.
 *
 * Method: a real `crustcore run` writes its event log (and MAC'd head anchor) into the temp state
 * dir; the test copies the log and anchor, damages the copy (flips one byte of a middle record,
 * drops the last records, swaps two records, splices a record or a tail from a second run's log,
 * cuts the file mid-line) and runs the real `crustcore inspect --json` with the same state dir.
 * Each damage must be reported (exit 1) with its status and the exact first bad record, and the
 * untouched original must stay `INTACT`.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  expectLogged,
  inspect,
  makeRepo,
  makeWorld,
  requireBwrap,
  run,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type RunJson,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

/** A world with one (or two) verified runs on the same repo; each log is checked intact first. */
async function loggedRuns(count: number): Promise<{ world: World; reports: RunJson[] }> {
  const world = makeWorld();
  const repo = makeRepo(world, { 'notes.txt': 'draft\n' });
  writeFiles(repo, { 'notes.txt': 'fixed\n' });
  const reports: RunJson[] = [];
  for (let i = 0; i < count; i += 1) {
    const { code, report } = await run(world, repo, ['--verify', 'grep -q fixed notes.txt', '--timeout', '20']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    await expectLogged(world, report, 'verified');
    reports.push(report);
  }
  return { world, reports };
}

/** The log's lines, each with its trailing newline. */
function linesOf(path: string): Buffer[] {
  const bytes = readFileSync(path);
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

/** Writes `bytes` as a copy of `log` (with the original's head anchor) and returns its path. */
function damagedCopy(world: World, log: string, name: string, bytes: Buffer): string {
  const path = join(world.root, `${name}.jsonl`);
  writeFileSync(path, bytes);
  copyFileSync(`${log}.head`, `${path}.head`);
  return path;
}

/** Byte offset of record `n` in `lines`. */
function offsetOf(lines: readonly Buffer[], n: number): number {
  return lines.slice(0, n).reduce((sum, line) => sum + line.length, 0);
}

/** Inspects a damaged copy: exit 1 and the status, first bad record and offset it reports. */
async function inspectDamaged(
  world: World,
  path: string,
): Promise<{ status: string; firstBadRecord: number | null; byteOffset: number | null }> {
  const { code, report } = await inspect(world, path);
  expect(code).toBe(1);
  return { status: report.status, firstBadRecord: report.firstBadRecord, byteOffset: report.byteOffset };
}

describe('J46 one flipped byte in a middle record', () => {
  it('inspect names that record', async () => {
    const { world, reports } = await loggedRuns(1);
    const log = reports[0]?.log.path ?? '';
    const lines = linesOf(log);
    expect(lines.length).toBeGreaterThan(4);
    const k = Math.floor(lines.length / 2);
    const bytes = Buffer.from(readFileSync(log));
    const at = offsetOf(lines, k) + Math.floor((lines[k]?.length ?? 0) / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    expect(await inspectDamaged(world, damagedCopy(world, log, 'flipped', bytes))).toEqual({
      status: 'tampered',
      firstBadRecord: k,
      byteOffset: offsetOf(lines, k),
    });
  });
});

describe('J47 the last records dropped', () => {
  it.each([1, 3])('dropping %i record(s) is detected against the head anchor', async (dropped) => {
    const { world, reports } = await loggedRuns(1);
    const log = reports[0]?.log.path ?? '';
    const lines = linesOf(log);
    const kept = Buffer.concat(lines.slice(0, lines.length - dropped));
    const found = await inspectDamaged(world, damagedCopy(world, log, `dropped-${dropped}`, kept));
    expect(found.status).toBe('tampered');
    // The anchor names a record past the end: the first missing record is the bad one.
    expect(found.firstBadRecord).toBe(lines.length - dropped);
  });
});

describe('J48 reordered and spliced records', () => {
  it('two swapped records are detected at the first of them', async () => {
    const { world, reports } = await loggedRuns(1);
    const log = reports[0]?.log.path ?? '';
    const lines = linesOf(log);
    const k = Math.floor(lines.length / 2);
    const swapped = [...lines];
    [swapped[k], swapped[k + 1]] = [lines[k + 1] as Buffer, lines[k] as Buffer];
    expect(await inspectDamaged(world, damagedCopy(world, log, 'swapped', Buffer.concat(swapped)))).toEqual({
      status: 'tampered',
      firstBadRecord: k,
      byteOffset: offsetOf(lines, k),
    });
  });

  it("a record spliced in from another run's log is detected at that record", async () => {
    const { world, reports } = await loggedRuns(2);
    const logA = reports[0]?.log.path ?? '';
    const linesA = linesOf(logA);
    const linesB = linesOf(reports[1]?.log.path ?? '');
    const k = Math.floor(linesA.length / 2);
    const spliced = [...linesA];
    spliced[k] = linesB[k] as Buffer;
    expect(await inspectDamaged(world, damagedCopy(world, logA, 'spliced', Buffer.concat(spliced)))).toEqual({
      status: 'tampered',
      firstBadRecord: k,
      byteOffset: offsetOf(linesA, k),
    });
  });

  it("another run's whole tail spliced on is detected where it starts", async () => {
    const { world, reports } = await loggedRuns(2);
    const logA = reports[0]?.log.path ?? '';
    const linesA = linesOf(logA);
    const linesB = linesOf(reports[1]?.log.path ?? '');
    const k = 2;
    const spliced = Buffer.concat([...linesA.slice(0, k), ...linesB.slice(k)]);
    expect(await inspectDamaged(world, damagedCopy(world, logA, 'tail', spliced))).toEqual({
      status: 'tampered',
      firstBadRecord: k,
      byteOffset: offsetOf(linesA, k),
    });
  });
});

describe('J49 a torn final line', () => {
  it('a log cut in the middle of its last line is torn at that record, never intact', async () => {
    const { world, reports } = await loggedRuns(1);
    const log = reports[0]?.log.path ?? '';
    const lines = linesOf(log);
    const last = lines.length - 1;
    const cut = offsetOf(lines, last) + Math.floor((lines[last]?.length ?? 0) / 2);
    expect(await inspectDamaged(world, damagedCopy(world, log, 'torn', readFileSync(log).subarray(0, cut)))).toEqual({
      status: 'torn',
      firstBadRecord: last,
      byteOffset: offsetOf(lines, last),
    });
  });

  it('a log cut in the middle of a middle record is torn at that record', async () => {
    const { world, reports } = await loggedRuns(1);
    const log = reports[0]?.log.path ?? '';
    const lines = linesOf(log);
    const k = Math.floor(lines.length / 2);
    const cut = offsetOf(lines, k) + 10;
    expect(
      await inspectDamaged(world, damagedCopy(world, log, 'torn-middle', readFileSync(log).subarray(0, cut))),
    ).toEqual({
      status: 'torn',
      firstBadRecord: k,
      byteOffset: offsetOf(lines, k),
    });
  });
});
