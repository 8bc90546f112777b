/**
 * Conformance: the kit in `protocol/conformance/` run as a black box against the net sidecar —
 * from source under tsx, and as built single-file bundles of both the sidecar and the kit's CLI —
 * and against a deliberately broken sidecar, which the kit must reject. Expected failures are
 * honoured with their reasons, and a stale entry (a listed scenario that passes, or a name that
 * matches no scenario) fails the run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runConformance, scenariosFor, sidecarKinds } from '../../protocol/conformance/index.js';
import type { ConformanceReport } from '../../protocol/conformance/index.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const netMain = join(repoRoot, 'sidecars', 'net', 'src', 'main.ts');
const broken = join(import.meta.dirname, 'fixtures', 'broken-net-sidecar.mjs');
const fixturesRoot = join(repoRoot, 'protocol', 'fixtures', 'v1');
const quick = { refusalTimeoutMs: 1_500, responseTimeoutMs: 5_000 };
let directory = '';
let sidecarBundle = '';
let kitBundle = '';

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'crustcore-conformance-'));
  sidecarBundle = join(directory, 'net.js');
  kitBundle = join(directory, 'crustcore-conformance.js');
  // The same shape as the shipped bundles: one ESM file each, every package inside, Node built-ins outside.
  const shape = { bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent' } as const;
  await build({ ...shape, entryPoints: [netMain], outfile: sidecarBundle });
  await build({ ...shape, entryPoints: [join(repoRoot, 'protocol', 'conformance', 'main.ts')], outfile: kitBundle });
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

function failing(report: ConformanceReport): string[] {
  return report.results
    .filter((result) => result.status !== 'pass')
    .map((result) => `${result.name}: ${result.detail}`);
}

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function writeExpected(name: string, entries: Readonly<Record<string, string>>): string {
  const file = join(directory, name);
  writeFileSync(file, JSON.stringify(entries));
  return file;
}

describe('the net sidecar', () => {
  test('passes every scenario from source', async () => {
    const report = await runConformance({
      sidecar: 'net',
      command: { command: process.execPath, args: ['--import', 'tsx', netMain, '--offline'], cwd: repoRoot },
    });
    expect(failing(report)).toEqual([]);
    expect(report.ok).toBe(true);
    const names = report.results.map((result) => result.name);
    expect(names).toEqual(
      scenariosFor(sidecarKinds['net'] ?? expect.fail('no net kind')).map((scenario) => scenario.name),
    );
    expect(names).toEqual(
      expect.arrayContaining([
        'handshake',
        'version mismatch',
        'call before initialize',
        'cancellation',
        'oversize message',
        'message near the size limit',
        'exit on stdin EOF',
        'unknown method',
        'junk frame',
        'fixture net.complete/valid/request-minimal.json',
        'fixture net.rerank/invalid/request-empty-query.json',
      ]),
    );
  });

  test('passes as built bundles of the sidecar and the kit CLI; a stale expected failure fails the run', async () => {
    const command = ['--sidecar', 'net', '--fixtures', fixturesRoot];
    const clean = await run([kitBundle, ...command, '--', process.execPath, sidecarBundle, '--offline']);
    expect(clean.stderr).toBe('');
    expect(clean.stdout).toMatch(
      /\n\d+ passed, 0 failed, 0 expected failures, 0 stale expected failures: CONFORMANT\n$/,
    );
    expect(clean.code).toBe(0);

    const expected = writeExpected('stale.json', {
      handshake: 'listed although it passes',
      'no such scenario': 'a typo',
    });
    const stale = await run([
      kitBundle,
      ...command,
      '--expected-failures',
      expected,
      '--',
      process.execPath,
      sidecarBundle,
      '--offline',
    ]);
    expect(stale.stdout).toContain('0 failed, 0 expected failures, 2 stale expected failures: NOT CONFORMANT');
    expect(stale.stdout).toMatch(
      /\nSTALE +handshake +listed as an expected failure \(listed although it passes\) but passed; remove the entry\n/,
    );
    expect(stale.stdout).toMatch(
      /\nSTALE +no such scenario +listed as an expected failure \(a typo\) but no such scenario exists; remove the entry\n/,
    );
    expect(stale.code).toBe(1);
  });
});

describe('a broken sidecar', () => {
  let report: ConformanceReport;
  beforeAll(async () => {
    report = await runConformance({
      sidecar: 'net',
      command: { command: process.execPath, args: [broken] },
      limits: quick,
    });
  });

  test('fails the kit, naming what broke', () => {
    expect(report.ok).toBe(false);
    const byName = new Map(report.results.map((result) => [result.name, result]));
    for (const name of [
      'call before initialize',
      'junk frame',
      'oversize message',
      'fixture net.complete/invalid/envelope-result-and-error.json',
      'fixture net.complete/invalid/request-empty-messages.json',
      'fixture net.complete/valid/request-minimal.json',
    ]) {
      expect(byName.get(name)?.status, name).toBe('fail');
    }
    expect(byName.get('fixture net.complete/valid/request-minimal.json')?.detail).toMatch(
      /^the result breaks the schema: net\/complete result: /,
    );
    expect(byName.get('oversize message')?.detail).toBe(
      'a frame announcing 16777217 bytes: ignored it (no error response, no exit within 1500 ms)',
    );
    expect(byName.get('handshake')?.status).toBe('pass');
    expect(byName.get('exit on stdin EOF')?.status).toBe('pass');
  });

  test('listing its failures with reasons makes the CLI pass', async () => {
    const failures = report.results.filter((result) => result.status === 'fail').map((result) => result.name);
    const expected = writeExpected(
      'broken.json',
      Object.fromEntries(failures.map((name) => [name, 'a deliberately broken fixture'])),
    );
    const result = await run([
      kitBundle,
      '--sidecar',
      'net',
      '--fixtures',
      fixturesRoot,
      '--expected-failures',
      expected,
      '--refusal-timeout-ms',
      '1500',
      '--',
      process.execPath,
      broken,
    ]);
    expect(result.stdout).toContain(
      `0 failed, ${failures.length} expected failures, 0 stale expected failures: CONFORMANT`,
    );
    expect(result.code).toBe(0);
  });

  test('the CLI refuses bad usage with exit code 2', async () => {
    const result = await run([kitBundle, '--sidecar', 'nope', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('crustcore-conformance: --sidecar needs a known sidecar kind');
  });
});
