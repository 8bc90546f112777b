/**
 * The exact bubblewrap command line for a fixed spec and host layout (whole-array equality), the
 * fixed environment helper, and spec validation at the boundary.
 */
import { describe, expect, it } from 'vitest';
import { bwrapArguments } from '../../src/sandbox/bwrap-args.js';
import { defaultSandboxEnv, type SandboxSpec } from '../../src/sandbox/index.js';
import { checkSpec } from '../../src/sandbox/spec-check.js';

const spec: SandboxSpec = {
  backend: 'bwrap',
  argv: ['/bin/sh', '-c', 'npm test'],
  cwd: '/tree',
  mounts: [
    { kind: 'overlay', lowers: ['/cache/base'], upper: '/runs/r1/upper', work: '/runs/r1/work', target: '/tree' },
    { kind: 'bindReadOnly', source: '/repo/node_modules', target: '/tree/node_modules' },
    { kind: 'bindWritable', source: '/runs/r1/out', target: '/out' },
    { kind: 'tmpfs', target: '/scratch' },
  ],
  env: { PATH: '/usr/bin:/bin', HOME: '/home/sandbox' },
  network: false,
  timeoutMs: 1000,
  outputBytesMax: 1024,
  limits: { processesMax: 10, fileBytesMax: 100, addressSpaceBytesMax: 200, cpuSeconds: 3, tmpfsBytesMax: 4096 },
};

describe('bwrapArguments', () => {
  it('builds the whole command line', () => {
    const args = bwrapArguments({
      spec,
      toolchain: {
        binds: ['/home/u/.nvm/versions/node/v1'],
        masks: ['/home/u/.cargo/credentials'],
        pathEntries: [],
        env: {},
        programs: [],
      },
      layout: {
        topLevel: [
          { path: '/bin', symlinkTarget: 'usr/bin' },
          { path: '/lib64', symlinkTarget: null },
        ],
        etc: ['/etc/ssl'],
      },
      etcDir: '/stage',
      overlayMountPoints: ['/stage/overlay-0'],
      prlimitPath: '/usr/bin/prlimit',
      infoFd: 3,
      socketMasks: [[], ['/tree/node_modules/.cache/a.sock', '/tree/node_modules/b.sock'], ['/out/c.sock'], []],
    });
    expect(args).toEqual([
      '--die-with-parent',
      '--new-session',
      '--unshare-all',
      '--hostname',
      'sandbox',
      '--cap-drop',
      'ALL',
      '--clearenv',
      '--setenv',
      'PATH',
      '/usr/bin:/bin',
      '--setenv',
      'HOME',
      '/home/sandbox',
      '--info-fd',
      '3',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/bin',
      '/bin',
      '--ro-bind',
      '/lib64',
      '/lib64',
      '--ro-bind',
      '/etc/ssl',
      '/etc/ssl',
      '--ro-bind',
      '/stage/passwd',
      '/etc/passwd',
      '--ro-bind',
      '/stage/group',
      '/etc/group',
      '--ro-bind',
      '/stage/hosts',
      '/etc/hosts',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--size',
      '4096',
      '--tmpfs',
      '/tmp',
      '--size',
      '4096',
      '--tmpfs',
      '/home/sandbox',
      '--ro-bind',
      '/home/u/.nvm/versions/node/v1',
      '/home/u/.nvm/versions/node/v1',
      '--ro-bind',
      '/dev/null',
      '/home/u/.cargo/credentials',
      '--bind',
      '/stage/overlay-0',
      '/tree',
      '--ro-bind',
      '/repo/node_modules',
      '/tree/node_modules',
      '--ro-bind',
      '/dev/null',
      '/tree/node_modules/.cache/a.sock',
      '--ro-bind',
      '/dev/null',
      '/tree/node_modules/b.sock',
      '--bind',
      '/runs/r1/out',
      '/out',
      '--ro-bind',
      '/dev/null',
      '/out/c.sock',
      '--size',
      '4096',
      '--tmpfs',
      '/scratch',
      '--remount-ro',
      '/',
      '--chdir',
      '/tree',
      '--',
      '/usr/bin/prlimit',
      '--nproc=10:10',
      '--fsize=100:100',
      '--as=200:200',
      '--cpu=3:3',
      '--core=0:0',
      '--',
      '/bin/sh',
      '-c',
      'npm test',
    ]);
  });
});

describe('bwrapArguments socket masks', () => {
  it('refuses a plan without one mask list per mount', () => {
    expect(() =>
      bwrapArguments({
        spec,
        toolchain: { binds: [], masks: [], pathEntries: [], env: {}, programs: [] },
        layout: { topLevel: [], etc: [] },
        etcDir: '/stage',
        overlayMountPoints: ['/stage/overlay-0'],
        prlimitPath: '/usr/bin/prlimit',
        infoFd: 3,
        socketMasks: [[]],
      }),
    ).toThrow(new TypeError('bwrap plan: socketMasks must hold one list per mount.'));
  });
});

describe('defaultSandboxEnv', () => {
  it('is the fixed allow-list', () => {
    expect(defaultSandboxEnv({ path: '/usr/bin:/bin', extra: { RUSTUP_HOME: '/h/.rustup' } })).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/sandbox',
      LANG: 'C.UTF-8',
      TERM: 'dumb',
      TMPDIR: '/tmp',
      CI: 'true',
      NO_COLOR: '1',
      RUSTUP_HOME: '/h/.rustup',
    });
  });

  it('refuses an extra that overrides the allow-list or names the verifier', () => {
    expect(() => defaultSandboxEnv({ path: '/bin', extra: { HOME: '/root' } })).toThrow(TypeError);
    expect(() => defaultSandboxEnv({ path: '/bin', extra: { CRUSTCORE_VERIFY: '1' } })).toThrow(TypeError);
  });
});

describe('checkSpec', () => {
  it('accepts the example spec', () => {
    expect(() => checkSpec(spec)).not.toThrow();
  });

  it.each([
    ['empty argv', { argv: [] }],
    ['relative cwd', { cwd: 'tree' }],
    ['a NUL in argv', { argv: ['/bin/sh', 'a\0b'] }],
    ['a bad env name', { env: { 'A=B': 'x' } }],
    ['a mount on /usr', { mounts: [{ kind: 'tmpfs', target: '/usr/local' }] }],
    ['a mount of /', { mounts: [{ kind: 'bindReadOnly', source: '/', target: '/host' }] }],
    ['an unnormalized path', { mounts: [{ kind: 'bindReadOnly', source: '/a/../etc', target: '/x' }] }],
    [
      'a comma in an overlay layer',
      { mounts: [{ kind: 'overlay', lowers: ['/a,upperdir=/x'], upper: '/u', work: '/w', target: '/t' }] },
    ],
    ['a zero timeout', { timeoutMs: 0 }],
    ['HOME on /etc', { env: { HOME: '/etc' } }],
  ] as const)('refuses %s', (_name, change) => {
    expect(() => checkSpec({ ...spec, ...(change as Partial<SandboxSpec>) })).toThrow(
      /^sandbox spec: .*; fix the caller\.$/,
    );
  });
});
