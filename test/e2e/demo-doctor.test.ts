/**
 * `crustcore demo` (the whole loop offline: a wrong attempt rejected, a right one verified) and
 * `crustcore doctor` (is this machine ready, proven by probing the sandbox).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, makeWorld, parseJson, requireBwrap, useBuiltCli, useWorlds, writeFakeBwrap } from './support.js';
import type { RunJson } from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

describe('demo', () => {
  it('exits 0: attempt 1 failed, attempt 2 passed, VERIFIED, the patch, and INTACT', async () => {
    const world = makeWorld();
    const result = await cli(world, ['demo']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.filter((line) => /^(VERIFIED|REJECTED|REFUSED|FAILED|NEEDS APPROVAL) /.test(line))).toEqual([
      expect.stringMatching(/^VERIFIED {2}task \S+ \(2 attempts\)$/),
    ]);
    expect(result.stdout).toContain(
      '\n  attempt 1: failed, verify exit 1 (verifyFailed: verify exited with 1)\n  attempt 2: passed, verify exit 0\n',
    );
    expect(lines).toContain('+  if (values.length === 0) return 0;');
    expect(lines).toContain('+  for (let i = 0; i < values.length; i++) total += values[i];');
    expect(lines.some((line) => line.startsWith('INTACT '))).toBe(true);
    expect(result.stdout).toContain('head anchor: MAC verified');
    // The demo cleans up its temporary repo and state dir.
    expect(readdirSync(world.root).filter((name) => name.startsWith('crustcore-demo-'))).toEqual([]);
  });

  it('--json: one object saying verified after 2 attempts, with an intact log', async () => {
    const world = makeWorld();
    const result = await cli(world, ['demo', '--json']);
    expect(result.code).toBe(0);
    const parsed = parseJson<{ run: RunJson; inspect: { status: string; anchor: string } }>(result);
    expect(Object.keys(parsed).sort()).toEqual(['inspect', 'run']);
    expect({
      verdict: parsed.run.verdict,
      exitCode: parsed.run.exitCode,
      candidate: parsed.run.candidate,
      verifyCommand: parsed.run.verifyCommand,
      attempts: parsed.run.attempts.map((a) => [a.attempt, a.outcome, a.verify?.exitCode]),
      files: parsed.run.patch?.files,
      inspect: { status: parsed.inspect.status, anchor: parsed.inspect.anchor },
    }).toEqual({
      verdict: 'verified',
      exitCode: 0,
      candidate: 'model',
      verifyCommand: 'node --test',
      attempts: [
        [1, 'failed', 1],
        [2, 'passed', 0],
      ],
      files: [{ path: 'src/stats.js', status: 'modified' }],
      inspect: { status: 'intact', anchor: 'verified' },
    });
    expect(readdirSync(world.root).filter((name) => name.startsWith('crustcore-demo-'))).toEqual([]);
  });
});

type DoctorJson = {
  readonly ready: boolean;
  readonly checks: readonly { name: string; ok: boolean; optional: boolean; detail: string }[];
};

describe('doctor', () => {
  it('exits 0 with every required check ok; --verify "node --test" resolves in the sandbox', async () => {
    const world = makeWorld();
    const result = await cli(world, ['doctor', '--verify', 'node --test']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1).map((line) => line.slice(0, 23).trimEnd())).toEqual([
      'ok    node',
      'ok    git',
      'ok    sandbox bwrap',
      expect.stringMatching(/^(ok {2}|skip) {2}sandbox gvisor$/),
      'ok    state dir',
      'ok    verify toolchain',
    ]);
    expect(result.stdout).toMatch(/\nok {4}sandbox bwrap {4}[^\n]*enforcement proven/);
    expect(result.stdout).toMatch(/\nok {4}verify toolchain resolves inside the sandbox: [^\n]*node \(/);
    expect(lines.at(-1)).toBe('ready: crustcore can verify changes on this machine');
  });

  it('--json: { ready, checks: [{ name, ok, optional, detail }] }', async () => {
    const world = makeWorld();
    const result = await cli(world, ['doctor', '--json', '--verify', 'node --test']);
    expect(result.code).toBe(0);
    const report = parseJson<DoctorJson>(result);
    expect(Object.keys(report)).toEqual(['ready', 'checks']);
    expect(report.checks.map((check) => Object.keys(check))).toEqual(
      report.checks.map(() => ['name', 'ok', 'optional', 'detail']),
    );
    expect(
      report.checks.map((check) => ({ name: check.name, ok: check.ok || check.optional, optional: check.optional })),
    ).toEqual([
      { name: 'node', ok: true, optional: false },
      { name: 'git', ok: true, optional: false },
      { name: 'sandbox bwrap', ok: true, optional: false },
      { name: 'sandbox gvisor', ok: true, optional: true },
      { name: 'state dir', ok: true, optional: false },
      { name: 'verify toolchain', ok: true, optional: false },
    ]);
    expect(report.ready).toBe(true);
    expect(report.checks.every((check) => typeof check.detail === 'string' && check.detail !== '')).toBe(true);
  });

  it('exits 1 with FAIL sandbox bwrap for --sandbox-binary /nonexistent', async () => {
    const world = makeWorld();
    const result = await cli(world, ['doctor', '--sandbox-binary', '/nonexistent']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/\nFAIL {2}sandbox bwrap {4}backendMissing: [^\n]*\/nonexistent/);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('NOT READY: fix the FAIL lines above');
  });

  it('exits 1 with FAIL sandbox bwrap for a fake bwrap that enforces nothing', async () => {
    const world = makeWorld();
    const fake = writeFakeBwrap(world);
    const result = await cli(world, ['doctor', '--sandbox-binary', fake, '--verify', 'node --test']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/\nFAIL {2}sandbox bwrap {4}backendNotEnforcing: /);
    expect(result.stdout).toContain('\nFAIL  verify toolchain not checked: no working sandbox\n');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('NOT READY: fix the FAIL lines above');
  });

  it('--sandbox-binary is relative to the current directory, as in run', async () => {
    const world = makeWorld();
    writeFakeBwrap(world, 'fake-bwrap');
    const result = await cli(world, ['doctor', '--sandbox-binary', 'fake-bwrap'], { cwd: world.root });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/\nFAIL {2}sandbox bwrap {4}backendNotEnforcing: /);
  });

  it('--json with a fake bwrap: not ready, the bwrap check failed and is required', async () => {
    const world = makeWorld();
    const fake = writeFakeBwrap(world);
    const result = await cli(world, ['doctor', '--json', '--sandbox-binary', fake]);
    expect(result.code).toBe(1);
    const report = parseJson<DoctorJson>(result);
    expect(report.ready).toBe(false);
    expect(report.checks.find((check) => check.name === 'sandbox bwrap')).toEqual({
      name: 'sandbox bwrap',
      ok: false,
      optional: false,
      detail: expect.stringMatching(/^backendNotEnforcing: /),
    });
  });
});
