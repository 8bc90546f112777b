/**
 * REDTEAM F30–F31 and the whole redaction boundary: a canary secret never leaves the kernel in
 * any encoding, through any boundary.
 *
 * Method: three canaries (`makeCanary`): one mapped from an environment variable by the user's
 * config (`secrets.env`), one stored in the vault with `crustcore secrets set`, and one granted to
 * the worker with `--worker-env` (the worker sees it; nothing the kernel writes may). Real
 * `crustcore` runs then drive every boundary: a worker that copies its stdin contract into the
 * tree and leaks the granted value into a file; a verify that prints every canary exactly, in
 * base64, hex and URL forms, and split across two writes with a pause; a failing verify whose
 * output reaches attempt 2's contract; `--json` and human output, stderr progress, usage errors
 * that echo a canary (`--branch`, `--base`), `inspect` and `export`, and a working-tree change that
 * adds a canary to a file (refused as `secretInPatch`, never stored). Every byte the CLI printed
 * and every file under the state dir is searched for every form of `encodingsOf` of every canary.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodingsOf, makeCanary, type Canary } from '../../kernel/src/secrets/canary.js';
import {
  Exit,
  cli,
  cliPath,
  collect,
  eventsOf,
  expectLogged,
  makeRepo,
  makeWorld,
  parseRun,
  requireBwrap,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type CliResult,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

type Canaries = { readonly env: Canary; readonly vault: Canary; readonly granted: Canary };

/** A world with a config mapping the env canary, a vault holding the vault canary, and the granted variable. */
async function canaryWorld(): Promise<{ world: World; canaries: Canaries }> {
  const canaries = { env: makeCanary('canaryEnv'), vault: makeCanary('canaryVault'), granted: makeCanary('granted') };
  const world = makeWorld((root) => ({
    CRUSTCORE_CONFIG: join(root, 'config.json'),
    CC_CANARY_ENV: canaries.env.value,
    CC_GRANTED: canaries.granted.value,
    CRUSTCORE_VAULT_PASSPHRASE: 'redteam vault passphrase',
  }));
  writeFileSync(join(world.root, 'config.json'), JSON.stringify({ secrets: { env: { canaryEnv: 'CC_CANARY_ENV' } } }));
  const child = spawn(process.execPath, [cliPath, 'secrets', 'set', 'canaryVault'], {
    cwd: world.root,
    env: world.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(canaries.vault.value);
  const set = await collect(child);
  expect({ code: set.code, stdout: set.stdout, stderr: set.stderr }).toEqual({
    code: 0,
    stdout: 'created vault and set canaryVault\n',
    stderr: '',
  });
  return { world, canaries };
}

/** Every file under `dir` (symlinks not followed), as bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const found: { path: string; bytes: Buffer }[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = lstatSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) found.push({ path: full, bytes: readFileSync(full) });
    }
  };
  walk(dir);
  return found;
}

/** Which canary forms occur in `text`, as `<canary>:<encoding>` (empty when nothing leaked). */
function leaks(text: string, canaries: Canaries): string[] {
  return Object.values(canaries).flatMap((canary) =>
    encodingsOf(canary.value)
      .filter((form) => text.includes(form.text))
      .map((form) => `${canary.name}:${form.encoding}`),
  );
}

/** Asserts no canary form is in any CLI output or any file of the state dir (the vault excepted: it is encrypted). */
function expectNoLeak(world: World, canaries: Canaries, outputs: readonly CliResult[]): void {
  const printed = outputs.map((result) => `${result.stdout}\n${result.stderr}`).join('\n');
  expect(leaks(printed, canaries)).toEqual([]);
  const stateLeaks = filesUnder(world.state).flatMap((file) =>
    [...leaks(file.bytes.toString('utf8'), canaries), ...leaks(file.bytes.toString('latin1'), canaries)].map(
      (leak) => `${file.path.slice(world.state.length)} ${leak}`,
    ),
  );
  expect(stateLeaks).toEqual([]);
}

/** A verify that prints each canary exactly, in base64, hex and URL form, and split over two writes. */
function leakyVerify(canaries: Canaries, exitCode: number): string {
  const lines: string[] = [];
  for (const canary of [canaries.env, canaries.vault]) {
    const forms = encodingsOf(canary.value);
    const pick = (encoding: string): string => forms.find((form) => form.encoding === encoding)?.text ?? '';
    const half = Math.floor(canary.value.length / 2);
    lines.push(
      `printf '%s\\n' '${canary.value}' '${pick('base64')}' '${pick('hex-lower')}' '${pick('uri-component')}'`,
      `printf 'split:%s' '${canary.value.slice(0, half)}'; sleep 0.2; printf '%s:end\\n' '${canary.value.slice(half)}'`,
    );
  }
  lines.push('cat contracts.log 2>/dev/null', 'env', `exit ${exitCode}`);
  return lines.join('; ');
}

describe('F30/F31 a canary never leaves the kernel', () => {
  it('through verify output, the worker contract, progress, --json, the log, inspect and export', async () => {
    const { world, canaries } = await canaryWorld();
    const repo = makeRepo(world, { 'notes.txt': 'draft\n' });
    // The worker keeps its contract in the tree (so verify prints it) and leaks its granted variable into a file.
    const worker = `cat >> contracts.log; printf '%s' "$CC_GRANTED" > granted.txt; echo fixed > notes.txt; echo "worker sees $CC_GRANTED"`;
    const goal = `fix the notes; key ${canaries.env.value}`;
    const result = await cli(world, [
      'run',
      '--dir',
      repo,
      '--json',
      '--worker',
      worker,
      '--worker-env',
      'CC_GRANTED',
      '--goal',
      goal,
      '--verify',
      leakyVerify(canaries, 1),
      '--timeout',
      '30',
    ]);
    const report = parseRun(result);
    expect({ code: result.code, verdict: report.verdict, attempts: report.attempts.length }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      attempts: 2,
    });
    const [first, second] = report.attempts;
    const tail1 = first?.verify?.outputTail ?? '';
    const tail2 = second?.verify?.outputTail ?? '';
    // Every planted form was printed and replaced by its marker, the split one included.
    expect(tail1.match(/\[REDACTED:canaryEnv\]/g)?.length).toBeGreaterThanOrEqual(5);
    expect(tail1.match(/\[REDACTED:canaryVault\]/g)?.length).toBeGreaterThanOrEqual(5);
    expect(tail1).toContain('split:[REDACTED:canaryEnv]:end');
    // Attempt 2's contract carried attempt 1's (redacted) output and the redacted goal.
    expect(tail2).toContain('"previous":{');
    expect(tail2).toContain('fix the notes; key [REDACTED:canaryEnv]');
    expect(tail2).toContain('split:[REDACTED:canaryVault]:end');
    // The granted value reached the tree through the worker: the patch is refused, never stored.
    // (the verify exit decides the attempt's reason first; the log below records the integrity verdict).
    expect([first?.outcome, second?.outcome]).toEqual(['failed', 'failed']);
    expect(report.risks).toEqual(['worker-env: the worker sees $CC_GRANTED']);

    const events = await expectLogged(world, report, 'rejected');
    expect(eventsOf(events, 'secretExposed').map((event) => [event.name, event.purpose])).toEqual([
      ['canaryEnv', 'redaction boundary'],
      ['vault-passphrase', 'redaction boundary'],
      ['vault-passphrase', 'vault key derivation'],
      ['canaryVault', 'redaction boundary'],
    ]);
    expect(eventsOf(events, 'taskCreated')[0]?.goal).toBe('fix the notes; key [REDACTED:canaryEnv]');
    expect(eventsOf(events, 'verifyFinished').map((event) => event.integrity)).toEqual([
      { verdict: 'broken', violations: [{ path: 'granted.txt', rule: 'secretInPatch' }] },
      { verdict: 'broken', violations: [{ path: 'granted.txt', rule: 'secretInPatch' }] },
    ]);

    writeFiles(repo, { 'notes.txt': 'fixed\n' });
    const human = await cli(world, ['run', '--dir', repo, '--verify', leakyVerify(canaries, 1), '--timeout', '30']);
    expect(human.code).toBe(Exit.rejected);
    expect(human.stdout).toContain('split:[REDACTED:canaryVault]:end');
    const inspected = await cli(world, ['inspect', report.log.path]);
    const inspectedJson = await cli(world, ['inspect', report.log.path, '--json']);
    const exported = await cli(world, ['export', report.log.path]);
    const exportedJson = await cli(world, ['export', report.log.path, '--json']);
    expect([inspected.code, inspectedJson.code, exported.code, exportedJson.code]).toEqual([0, 0, 0, 0]);
    expect(exported.stdout).toContain('[REDACTED:canaryEnv]');
    expect(
      readdirSync(join(world.state, 'repos')).flatMap((dir) => readdirSync(join(world.state, 'repos', dir))),
    ).not.toContain('patches');
    expectNoLeak(world, canaries, [result, human, inspected, inspectedJson, exported, exportedJson]);
  });

  it('through usage errors that echo a canary, and a working-tree change that adds one', async () => {
    const { world, canaries } = await canaryWorld();
    const repo = makeRepo(world, { 'notes.txt': 'draft\n' });
    writeFiles(repo, { 'notes.txt': 'fixed\n' });
    const branch = await cli(world, [
      'run',
      '--dir',
      repo,
      '--verify',
      'true',
      '--branch',
      `fix/${canaries.env.value}`,
      '--json',
    ]);
    expect({ code: branch.code, stderr: branch.stderr }).toEqual({
      code: Exit.usage,
      stderr: 'crustcore: --branch: the name holds a secret, a token or hidden characters; choose another name\n',
    });
    const base = await cli(world, ['run', '--dir', repo, '--verify', 'true', '--base', canaries.vault.value]);
    expect(base.code).toBe(Exit.usage);
    expect(base.stderr).toContain("unknown --base '[REDACTED:canaryVault]'");

    // The user's own uncommitted edit adds the vault canary: verify passes, the patch is refused.
    writeFiles(repo, { 'config.js': `module.exports = { key: '${canaries.vault.value}' };\n` });
    const out = join(world.root, 'out.patch');
    const added = await cli(world, ['run', '--dir', repo, '--verify', 'true', '--out', out, '--json']);
    const report = parseRun(added);
    expect({ code: added.code, verdict: report.verdict, reason: report.reason, patch: report.patch }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      reason: 'integrityBroken: integrity broken: secretInPatch config.js',
      patch: null,
    });
    expect(() => lstatSync(out)).toThrow();
    await expectLogged(world, report, 'rejected');
    expectNoLeak(world, canaries, [branch, base, added]);
  });
});
