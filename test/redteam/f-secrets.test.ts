/**
 * REDTEAM F27–F29: secrets in the kernel's environment and home never reach the sandbox.
 *
 * Method: the CLI child gets canary variables (a random name and value, and well-known secret
 * names), and its `$HOME` holds `~/.ssh`, `~/.aws/credentials`, `~/.npmrc` and
 * `~/.config/gh/hosts.yml` filled with a canary. A real `crustcore run` then runs a verify that
 * prints its environment, every `/proc/*\/environ` it can see (including `/proc/1` and the
 * kernel's own pid, learnt by starting the CLI through `exec` from a shell), and those files by
 * their host paths and by `~`. No canary name or value may appear in the output, the report,
 * the CLI's output or the exported log.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  cliPath,
  collect,
  expectLogged,
  makeRepo,
  makeWorld,
  parseRun,
  requireBwrap,
  run,
  token,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type RunJson,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

/** A world whose CLI env carries canaries; returns the strings that must never appear. */
function canaryWorld(): { world: World; needles: string[] } {
  const id = token();
  const canaryName = `RT_CANARY_${id.toUpperCase()}`;
  const canaryValue = `canary-value-${id}`;
  const ghToken = `ghp_${id}${'A'.repeat(24)}`;
  const awsSecret = `aws-secret-${id}`;
  const world = makeWorld({ [canaryName]: canaryValue, GITHUB_TOKEN: ghToken, AWS_SECRET_ACCESS_KEY: awsSecret });
  return { world, needles: [canaryName, canaryValue, ghToken, awsSecret, 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY'] };
}

function changedRepo(world: World): string {
  const repo = makeRepo(world, { 'notes.txt': 'draft\n' });
  writeFiles(repo, { 'notes.txt': 'fixed\n' });
  return repo;
}

/** Asserts none of `needles` appears in the verify output, the report, stderr or the exported log. */
async function expectNoLeak(world: World, report: RunJson, stderr: string, needles: readonly string[]): Promise<void> {
  const events = await expectLogged(world, report, 'verified');
  const seen = [
    report.attempts[0]?.verify?.outputTail ?? '',
    JSON.stringify(report),
    stderr,
    JSON.stringify(events),
  ].join('\n');
  expect(needles.filter((needle) => seen.includes(needle))).toEqual([]);
}

describe('F27 the environment', () => {
  it('env and set inside show no canary name or value', async () => {
    const { world, needles } = canaryWorld();
    const repo = changedRepo(world);
    const { code, report, stderr } = await run(world, repo, ['--verify', 'env; set; export -p', '--timeout', '20']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    expect(report.attempts[0]?.verify?.outputTail).toContain('PATH=');
    await expectNoLeak(world, report, stderr, needles);
  });
});

describe("F28 /proc/1/environ and the kernel's /proc/<pid>/environ", () => {
  it('show no canary', async () => {
    const { world, needles } = canaryWorld();
    const repo = changedRepo(world);
    // `exec` keeps the shell's pid, so the outer shell's `$$` is the CLI's own host pid; `\$` is
    // left for the verify shell inside the sandbox.
    const verify = [
      'echo kernelpid=$$',
      'cat /proc/1/environ',
      'echo',
      'cat /proc/$$/environ',
      'echo',
      'cat /proc/\\$PPID/environ',
      'echo',
      'for p in /proc/[0-9]*; do cat \\$p/environ; echo; done',
      'true',
    ].join('; ');
    const script = `exec "$0" "$@" --verify "${verify}"`;
    const child = spawn(
      '/bin/sh',
      ['-c', script, process.execPath, cliPath, 'run', '--dir', repo, '--json', '--timeout', '20'],
      {
        cwd: world.root,
        env: world.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const result = await collect(child);
    const report = parseRun(result);
    expect({ code: result.code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    expect(report.attempts[0]?.verify?.outputTail).toContain(`kernelpid=${String(child.pid)}`);
    // The environ files that exist inside were read (the sandbox's own allow-list shows).
    expect(report.attempts[0]?.verify?.outputTail).toContain('TMPDIR=/tmp');
    await expectNoLeak(world, report, result.stderr, needles);
  });
});

describe("F29 credential files in the kernel's home", () => {
  it('are absent inside, by host path and by ~', async () => {
    const { world, needles } = canaryWorld();
    const secret = `home-secret-${token()}`;
    const files = ['.ssh/id_ed25519', '.aws/credentials', '.npmrc', '.config/gh/hosts.yml'];
    writeFiles(world.home, {
      '.ssh/id_ed25519': `-----BEGIN OPENSSH PRIVATE KEY-----\n${secret}\n`,
      '.aws/credentials': `[default]\naws_secret_access_key = ${secret}\n`,
      '.npmrc': `//registry.npmjs.org/:_authToken=${secret}\n`,
      '.config/gh/hosts.yml': `github.com:\n  oauth_token: ${secret}\n`,
    });
    const repo = changedRepo(world);
    const paths = [...files.map((file) => join(world.home, file)), ...files.map((file) => `$HOME/${file}`)];
    const verify = [
      ...paths.map(
        (path) => `if [ -e "${path}" ]; then echo "present ${path}"; cat "${path}"; else echo "absent ${path}"; fi`,
      ),
      `ls -la "${world.home}" ~ 2>&1`,
      'true',
    ].join('; ');
    const { code, report, stderr } = await run(world, repo, ['--verify', verify, '--timeout', '20']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    const output = report.attempts[0]?.verify?.outputTail ?? '';
    expect(output).not.toContain('present ');
    expect(output.match(/^absent /gmu)?.length).toBe(paths.length);
    await expectNoLeak(world, report, stderr, [...needles, secret]);
  });
});
