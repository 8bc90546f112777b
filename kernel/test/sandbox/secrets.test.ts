/**
 * Secrets (REDTEAM 27-29) and the toolchain under `$HOME`. This file points the test process's
 * own HOME and PATH at a fake home holding credentials (~/.ssh, ~/.aws/credentials, ~/.npmrc,
 * ~/.config/gh) and an nvm-style node, then checks from inside that the toolchain runs while
 * none of the credentials, the kernel's environment or the host's /etc secrets are reachable.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSandboxEnv, defaultToolchain } from '../../src/sandbox/index.js';
import { run, shellSpec, text } from './helpers.js';

const saved = { HOME: process.env['HOME'], PATH: process.env['PATH'] };
let home = '';
let nodeBin = '';
const canary = `canary-${process.pid}-${Math.random().toString(16).slice(2)}`;
const credentialPaths = ['.ssh/id_ed25519', '.aws/credentials', '.npmrc', '.config/gh/hosts.yml'];

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'crustcore-fake-home-'));
  for (const path of credentialPaths) {
    mkdirSync(join(home, path, '..'), { recursive: true });
    writeFileSync(join(home, path), `secret ${canary}\n`);
  }
  nodeBin = join(home, '.nvm/versions/node/v20.99.0/bin');
  mkdirSync(nodeBin, { recursive: true });
  try {
    linkSync('/usr/bin/node', join(nodeBin, 'node'));
  } catch {
    copyFileSync('/usr/bin/node', join(nodeBin, 'node'));
  }
  process.env['HOME'] = home;
  process.env['PATH'] = `${nodeBin}:${saved.PATH ?? '/usr/bin:/bin'}`;
  process.env['CRUSTCORE_TEST_CANARY'] = canary;
  process.env['AWS_SECRET_ACCESS_KEY'] = canary;
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  process.env['HOME'] = saved.HOME;
  process.env['PATH'] = saved.PATH;
  delete process.env['CRUSTCORE_TEST_CANARY'];
  delete process.env['AWS_SECRET_ACCESS_KEY'];
});

function toolchainSpec(script: string) {
  const argv = ['/bin/sh', '-c', script];
  const toolchain = defaultToolchain({ argv });
  return shellSpec(script, { env: defaultSandboxEnv({ path: toolchain.pathEntries.join(':'), extra: toolchain.env }) });
}

describe('toolchain under $HOME', () => {
  it('resolves the nvm node and binds only its version dir', () => {
    const toolchain = defaultToolchain({ argv: ['/bin/sh', '-c', 'node test.js'] });
    expect({ binds: toolchain.binds, pathEntries: toolchain.pathEntries.slice(0, 1) }).toEqual({
      binds: [join(home, '.nvm/versions/node/v20.99.0')],
      pathEntries: [nodeBin],
    });
  });

  it('runs the nvm node inside', async () => {
    const result = await run(toolchainSpec('node -e "console.log(process.execPath, process.version)"'));
    expect(text(result)).toBe(`${join(nodeBin, 'node')} ${process.version}\n`);
  });
});

describe('no secrets inside', () => {
  it('env shows exactly the allow-list; no canary from the kernel (REDTEAM 27)', async () => {
    const script = 'node -e "console.log(JSON.stringify(process.env))"';
    const result = await run(toolchainSpec(script));
    const path = defaultToolchain({ argv: ['/bin/sh', '-c', script] }).pathEntries.join(':');
    const env = JSON.parse(text(result)) as Record<string, string>;
    delete env['PWD'];
    expect(path.startsWith(`${nodeBin}:`)).toBe(true);
    expect(env).toEqual({ ...defaultSandboxEnv({ path }) });
    expect(text(result)).not.toContain(canary);
  });

  it('/proc/1/environ and the kernel’s /proc/<pid>/environ hold nothing of the kernel (REDTEAM 28)', async () => {
    const result = await run(
      shellSpec(
        [
          'cat /proc/1/environ 2>/dev/null | tr "\\0" "\\n"',
          `test -e /proc/${process.pid}/environ && cat /proc/${process.pid}/environ | tr "\\0" "\\n"`,
          'ls /proc | grep -E "^[0-9]+$" | tr "\\n" " "',
        ].join('\n'),
      ),
    );
    const output = text(result);
    expect(output).not.toContain(canary);
    expect(output).not.toContain('HOME=');
    // Only the sandbox's own handful of processes exist in its PID namespace.
    expect(output.trim().split('\n').at(-1)?.trim().split(' ').length).toBeLessThan(8);
  });

  it('~/.ssh, ~/.aws/credentials, ~/.npmrc, ~/.config/gh are absent (REDTEAM 29)', async () => {
    const candidates = credentialPaths.flatMap((path) => [join(home, path), `/home/sandbox/${path}`, `/root/${path}`]);
    const script = [
      ...candidates.map((path) => `test -e '${path}' && echo "visible ${path}"`),
      `test -e '${home}' && ls -A '${home}'`,
      'test -e /etc/shadow && echo "visible /etc/shadow"',
      'test -e /run && echo "visible /run"',
      `grep -rl '${canary}' /home /tmp /etc /root '${home}' 2>/dev/null | head`,
      'echo done',
    ].join('\n');
    const result = await run(toolchainSpec(`node -e 1; ${script}`));
    expect(text(result)).toBe('.nvm\ndone\n');
  });
});
