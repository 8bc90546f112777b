/**
 * Toolchain resolution on fake host layouts: which words of a command are programs, which host
 * dirs get bound for nvm, rustup, pyenv and generic installs, and that `$HOME` itself, its
 * ancestors and credential paths are never bound (credential files inside a bound root are masked).
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveToolchain } from '../../src/sandbox/index.js';
import { tempDir } from './helpers.js';

function executable(path: string, content = '#!/bin/sh\nexit 0\n'): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, 0o755);
  return path;
}

describe('resolveToolchain', () => {
  it('finds the first word of each simple command, skipping assignments and prefixes', () => {
    const home = tempDir();
    const bin = join(home, 'opt', 'tools', 'bin');
    for (const name of ['npm', 'cargo', 'npx', 'node']) executable(join(bin, name));
    const toolchain = resolveToolchain(
      'FOO=1 npm test && env A=b cargo test --offline; npx vitest run | node x.js',
      bin,
      { home: join(home, 'h') },
    );
    expect(toolchain.programs).toEqual([
      { name: 'npm', hostPath: join(bin, 'npm') },
      { name: 'cargo', hostPath: join(bin, 'cargo') },
      { name: 'npx', hostPath: join(bin, 'npx') },
      { name: 'node', hostPath: join(bin, 'node') },
      { name: 'git', hostPath: null },
    ]);
    expect(toolchain.binds).toEqual([join(home, 'opt', 'tools')]);
    expect(toolchain.pathEntries).toEqual([bin, '/usr/local/bin', '/usr/bin', '/bin']);
  });

  it('nvm: binds the version dir; npm’s #!/usr/bin/env node interpreter resolves in it', () => {
    const home = tempDir();
    const bin = join(home, '.nvm/versions/node/v22.1.0/bin');
    executable(join(bin, 'node'));
    executable(join(home, '.nvm/versions/node/v22.1.0/lib/node_modules/npm/bin/npm-cli.js'), '#!/usr/bin/env node\n');
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(bin, 'npm'));
    const toolchain = resolveToolchain(['/bin/sh', '-c', 'npm test'], `${bin}:/usr/bin:/bin`, { home });
    expect({ binds: toolchain.binds, masks: toolchain.masks, env: toolchain.env }).toEqual({
      binds: [join(home, '.nvm/versions/node/v22.1.0')],
      masks: [],
      env: {},
    });
    expect(toolchain.pathEntries[0]).toBe(bin);
  });

  it('rustup: binds ~/.cargo and ~/.rustup, sets CARGO_HOME/RUSTUP_HOME, masks cargo credentials', () => {
    const home = tempDir();
    executable(join(home, '.cargo/bin/rustup'));
    symlinkSync('rustup', join(home, '.cargo/bin/cargo'));
    mkdirSync(join(home, '.rustup/toolchains'), { recursive: true });
    writeFileSync(join(home, '.cargo/credentials.toml'), 'token = "secret"\n');
    const toolchain = resolveToolchain('cargo test', join(home, '.cargo/bin'), { home });
    expect({ binds: toolchain.binds, masks: toolchain.masks, env: toolchain.env }).toEqual({
      binds: [join(home, '.cargo'), join(home, '.rustup')],
      masks: [join(home, '.cargo/credentials.toml')],
      env: { CARGO_HOME: join(home, '.cargo'), RUSTUP_HOME: join(home, '.rustup') },
    });
  });

  it('pyenv shims: binds ~/.pyenv and sets PYENV_ROOT', () => {
    const home = tempDir();
    executable(join(home, '.pyenv/shims/python3'), '#!/usr/bin/env bash\n');
    const toolchain = resolveToolchain('python3 -m pytest', join(home, '.pyenv/shims'), { home });
    expect({ binds: toolchain.binds, env: toolchain.env }).toEqual({
      binds: [join(home, '.pyenv')],
      env: { PYENV_ROOT: join(home, '.pyenv') },
    });
  });

  it('never binds $HOME, ~/.local or a credential dir: only the program file', () => {
    const home = tempDir();
    executable(join(home, 'bin/tool'));
    executable(join(home, '.local/bin/other'));
    executable(join(home, '.config/bin/conf'));
    const toolchain = resolveToolchain(
      'tool; other; conf',
      `${join(home, 'bin')}:${join(home, '.local/bin')}:${join(home, '.config/bin')}`,
      {
        home,
      },
    );
    expect(toolchain.binds).toEqual([join(home, 'bin/tool'), join(home, '.local/bin/other')]);
  });

  it('never binds a denied path (the kernel state dir) or anything containing it', () => {
    const home = tempDir();
    const root = tempDir();
    executable(join(root, 'opt/x/bin/tool'));
    const toolchain = resolveToolchain('tool', join(root, 'opt/x/bin'), {
      home,
      denyPaths: [join(root, 'opt/x/state')],
    });
    expect(toolchain.binds).toEqual([join(root, 'opt/x/bin/tool')]);
  });

  it('system programs need no bind', () => {
    const toolchain = resolveToolchain(['/bin/sh', '-c', 'git status && sh -c true'], '/usr/bin:/bin', {
      home: tempDir(),
    });
    expect({ binds: toolchain.binds, masks: toolchain.masks }).toEqual({ binds: [], masks: [] });
  });
});
