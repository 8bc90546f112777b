/**
 * Host Unix sockets under bound directories (REDTEAM 26): connect(2) ignores read-only mounts,
 * so the sandbox masks every socket file beneath a bound directory with /dev/null before the
 * run. A real host listener counts what reaches it. The walk never follows symlinks, is bounded
 * by an entry count, and refuses the run when a tree is too large or cannot be named exactly.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bwrapArguments } from '../../src/sandbox/bwrap-args.js';
import { runSandboxed, type SandboxMount } from '../../src/sandbox/index.js';
import { defaultToolchain, systemLayout } from '../../src/sandbox/run-sandboxed.js';
import { findSockets, planSocketMasks } from '../../src/sandbox/socket-masks.js';
import { requireBwrap, run, shellSpec, tempDir, text } from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise<void>((done) => server.close(() => done()));
});

/** A host process listening on the Unix socket `path`, counting connections. */
async function listener(path: string): Promise<() => number> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((ready) => server.listen(path, ready));
  servers.push(server);
  return () => connections;
}

/** Shell lines that print `<label>=<error code>` or `<label>=connected` for a connect to `path`. */
function connectLine(label: string, path: string): string {
  return `node -e "require('net').connect('${path}').on('connect', () => { console.log('${label}=connected'); process.exit(0) }).on('error', (e) => console.log('${label}=' + e.code))"`;
}

describe('host sockets under bound directories are masked', () => {
  it('without the masks the socket would connect: the same bwrap arguments, no masks (the premise)', async () => {
    requireBwrap();
    const deps = tempDir();
    const hits = await listener(join(deps, 'agent.sock'));
    const stage = tempDir();
    for (const name of ['passwd', 'group', 'hosts']) writeFileSync(join(stage, name), '');
    const spec = shellSpec(connectLine('deps', '/deps/agent.sock'), {
      mounts: [{ kind: 'bindReadOnly', source: deps, target: '/deps' }],
    });
    const args = bwrapArguments({
      spec,
      toolchain: defaultToolchain(spec),
      layout: systemLayout(),
      etcDir: stage,
      overlayMountPoints: [],
      prlimitPath: '/usr/bin/prlimit',
      infoFd: 3,
      socketMasks: [[]],
    });
    // Asynchronous, so this process's own listener can accept while the sandbox connects.
    const output = await new Promise<string>((done) => {
      const child = spawn('/usr/bin/bwrap', [...args], { stdio: ['ignore', 'pipe', 'ignore', 'pipe'] });
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.on('close', () => done(out));
    });
    expect({ output, hits: hits() }).toEqual({ output: 'deps=connected\n', hits: 1 });
  });

  it('a listening socket in a read-only bind: absent as a socket, connect refused, nothing arrives', async () => {
    const deps = tempDir();
    writeFileSync(join(deps, 'index.js'), 'module.exports = 1;\n');
    const hits = await listener(join(deps, 'agent.sock'));
    const result = await run(
      shellSpec(
        [
          connectLine('deps', '/deps/agent.sock'),
          'test -S /deps/agent.sock; echo "socket=$?"',
          'cat /deps/index.js',
        ].join('\n'),
        { mounts: [{ kind: 'bindReadOnly', source: deps, target: '/deps' }] },
      ),
    );
    expect({ output: text(result), hits: hits(), exitCode: result.exitCode }).toEqual({
      output: 'deps=ECONNREFUSED\nsocket=1\nmodule.exports = 1;\n',
      hits: 0,
      exitCode: 0,
    });
  });

  it('sockets deep in a writable tree and in a read-only one are masked; the trees still work', async () => {
    const tree = tempDir();
    const deps = tempDir();
    mkdirSync(join(tree, 'a', 'b', 'c', 'd'), { recursive: true });
    mkdirSync(join(deps, '.cache', 'tool', 'run'), { recursive: true });
    writeFileSync(join(tree, 'a', 'b', 'c', 'd', 'note.txt'), 'note\n');
    const deepHits = await listener(join(tree, 'a', 'b', 'c', 'd', 'deep.sock'));
    const depsHits = await listener(join(deps, '.cache', 'tool', 'run', 'ipc.sock'));
    const result = await run(
      shellSpec(
        [
          connectLine('deep', '/tree/a/b/c/d/deep.sock'),
          connectLine('deps', '/tree/node_modules/.cache/tool/run/ipc.sock'),
          'cat a/b/c/d/note.txt',
          'echo written > a/b/c/d/out.txt',
        ].join('\n'),
        {
          cwd: '/tree',
          mounts: [
            { kind: 'bindWritable', source: tree, target: '/tree' },
            { kind: 'bindReadOnly', source: deps, target: '/tree/node_modules' },
          ],
        },
      ),
    );
    expect({ output: text(result), hits: deepHits() + depsHits() }).toEqual({
      output: 'deep=ECONNREFUSED\ndeps=ECONNREFUSED\nnote\n',
      hits: 0,
    });
    expect(readFileSync(join(tree, 'a', 'b', 'c', 'd', 'out.txt'), 'utf8')).toBe('written\n');
  });

  it('a symlink in a bound dir to a host socket outside leads nowhere inside', async () => {
    const deps = tempDir();
    const outside = tempDir();
    const hits = await listener(join(outside, 'agent.sock'));
    symlinkSync(join(outside, 'agent.sock'), join(deps, 'link.sock'));
    const result = await run(
      shellSpec(connectLine('link', '/deps/link.sock'), {
        mounts: [{ kind: 'bindReadOnly', source: deps, target: '/deps' }],
      }),
    );
    expect({ output: text(result), hits: hits() }).toEqual({ output: 'link=ENOENT\n', hits: 0 });
  });
});

describe('planSocketMasks', () => {
  it('lists every socket at its inside path, per mount, without following symlinks', async () => {
    const deps = tempDir();
    const other = tempDir();
    const outside = tempDir();
    mkdirSync(join(deps, 'x', 'y'), { recursive: true });
    writeFileSync(join(deps, 'file.txt'), '');
    await listener(join(deps, 'top.sock'));
    await listener(join(deps, 'x', 'y', 'deep.sock'));
    await listener(join(other, 'o.sock'));
    await listener(join(outside, 'hidden.sock'));
    symlinkSync(outside, join(deps, 'linked-dir'));
    const mounts: readonly SandboxMount[] = [
      { kind: 'bindReadOnly', source: deps, target: '/tree/node_modules' },
      { kind: 'tmpfs', target: '/scratch' },
      { kind: 'bindWritable', source: other, target: '/other' },
      { kind: 'bindReadOnly', source: join(deps, 'file.txt'), target: '/file.txt' },
      { kind: 'bindReadOnly', source: join(deps, 'missing'), target: '/missing' },
    ];
    expect(planSocketMasks(mounts, 100)).toEqual({
      ok: true,
      masks: [['/tree/node_modules/top.sock', '/tree/node_modules/x/y/deep.sock'], [], ['/other/o.sock'], [], []],
      entries: 7,
    });
  });

  it('refuses when the bound trees hold more entries than the bound, summed over mounts', () => {
    const first = tempDir();
    const second = tempDir();
    for (const name of ['a', 'b', 'c']) {
      writeFileSync(join(first, name), '');
      writeFileSync(join(second, name), '');
    }
    const mounts: readonly SandboxMount[] = [
      { kind: 'bindReadOnly', source: first, target: '/first' },
      { kind: 'bindReadOnly', source: second, target: '/second' },
    ];
    expect(planSocketMasks(mounts, 6)).toEqual({ ok: true, masks: [[], []], entries: 6 });
    expect(planSocketMasks(mounts, 5)).toEqual({
      ok: false,
      detail: `sandbox mounts refused: the bound directories hold more than 5 entries (reached in ${second}), too many to check for host sockets; bind fewer or smaller directories.`,
    });
    expect(findSockets(first, 2)).toEqual({ ok: false, reason: 'tooManyEntries' });
  });

  it('walks names that are not UTF-8, and refuses only a socket it cannot name', () => {
    const deps = tempDir();
    // The shell creates the byte-named dir (0xff) and a socket in it; JavaScript strings cannot name them.
    const made = spawnSync(
      '/bin/sh',
      [
        '-c',
        `cd "$1" && mkdir "$(printf 'plain\\377')" "$(printf 'sock\\377')" && cd "$(printf 'sock\\377')" && exec node -e "require('net').createServer().listen('s.sock', () => process.exit(0))"`,
        'sh',
        deps,
      ],
      { encoding: 'utf8' },
    );
    expect(made.status).toBe(0);
    const plain = tempDir();
    spawnSync('/bin/sh', ['-c', `mkdir "$1/$(printf 'plain\\377')"`, 'sh', plain]);
    expect(findSockets(plain, 100)).toEqual({ ok: true, sockets: [], entries: 1 });
    expect(findSockets(deps, 100)).toEqual({
      ok: false,
      reason: 'unreadable',
      detail: `the socket ${deps}/sock\ufffd/s.sock has a name that is not UTF-8`,
    });
  });
});

describe('runSandboxed refuses unsafe mounts', () => {
  it('with mountRefused: a bind whose source is a socket, a socket in an overlay layer', async () => {
    requireBwrap();
    const dir = tempDir();
    await listener(join(dir, 'agent.sock'));
    const layers = tempDir();
    for (const name of ['lower', 'upper', 'work']) mkdirSync(join(layers, name));
    await listener(join(layers, 'lower', 'in-layer.sock'));
    const outcomes = await Promise.all([
      runSandboxed(
        shellSpec('true', { mounts: [{ kind: 'bindReadOnly', source: join(dir, 'agent.sock'), target: '/a.sock' }] }),
      ),
      runSandboxed(
        shellSpec('true', {
          mounts: [
            {
              kind: 'overlay',
              lowers: [join(layers, 'lower')],
              upper: join(layers, 'upper'),
              work: join(layers, 'work'),
              target: '/tree',
            },
          ],
        }),
      ),
    ]);
    expect(outcomes).toEqual([
      {
        ok: false,
        error: {
          code: 'mountRefused',
          detail: `sandbox mounts refused: ${dir}/agent.sock is itself a Unix socket of the host; do not bind it.`,
        },
      },
      {
        ok: false,
        error: {
          code: 'mountRefused',
          detail: `sandbox mounts refused: the overlay layer ${layers}/lower holds the host socket in-layer.sock; remove it.`,
        },
      },
    ]);
  });
});

describe('overlay lower layers the kernel wrote itself', () => {
  it('are not walked; the upper layer still is', async () => {
    const layers = tempDir();
    for (const name of ['lower/a', 'upper', 'work']) mkdirSync(join(layers, name), { recursive: true });
    writeFileSync(join(layers, 'lower', 'a', 'f.txt'), 'f\n');
    writeFileSync(join(layers, 'upper', 'u.txt'), 'u\n');
    const overlay = (lowersWrittenByKernel: boolean): SandboxMount => ({
      kind: 'overlay',
      lowers: [join(layers, 'lower')],
      upper: join(layers, 'upper'),
      work: join(layers, 'work'),
      target: '/tree',
      lowersWrittenByKernel,
    });
    expect(planSocketMasks([overlay(false)], 1000)).toEqual({ ok: true, masks: [[]], entries: 3 });
    expect(planSocketMasks([overlay(true)], 1000)).toEqual({ ok: true, masks: [[]], entries: 1 });
    await listener(join(layers, 'upper', 'up.sock'));
    expect(planSocketMasks([overlay(true)], 1000)).toEqual({
      ok: false,
      detail: `sandbox mounts refused: the overlay layer ${layers}/upper holds the host socket up.sock; remove it.`,
    });
  });
});
