/**
 * Filesystem: every mount kind behaves as declared, writes through a symlink that points outside
 * land nowhere outside (REDTEAM 16), filling /tmp hits its tmpfs size (REDTEAM 23), the root is
 * read-only, and git works inside a tree. Each check looks at the host afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemEtc } from '../../src/sandbox/bwrap-args.js';
import { defaultSandboxLimits } from '../../src/sandbox/index.js';
import { run, shellSpec, tempDir, text } from './helpers.js';

describe('mount kinds', () => {
  it('bindReadOnly is readable, not writable', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.txt'), 'lower\n');
    const result = await run(
      shellSpec('cat /ro/a.txt; echo x > /ro/a.txt || echo refused; touch /ro/new || echo refused', {
        mounts: [{ kind: 'bindReadOnly', source: dir, target: '/ro' }],
      }),
    );
    expect(text(result)).toMatch(/^lower\n.*Read-only file system\nrefused\n.*Read-only file system\nrefused\n$/s);
    expect(readdirSync(dir)).toEqual(['a.txt']);
  });

  it('bindWritable writes land on the host', async () => {
    const dir = tempDir();
    await run(
      shellSpec('echo hello > /rw/out.txt', { mounts: [{ kind: 'bindWritable', source: dir, target: '/rw' }] }),
    );
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('hello\n');
  });

  it('overlay: writes land in upper, the lower layers stay unchanged, lowers[0] is on top', async () => {
    const root = tempDir();
    for (const name of ['top', 'bottom', 'upper', 'work']) mkdirSync(join(root, name));
    writeFileSync(join(root, 'bottom', 'shared.txt'), 'bottom\n');
    writeFileSync(join(root, 'top', 'shared.txt'), 'top\n');
    writeFileSync(join(root, 'bottom', 'keep.txt'), 'keep\n');
    const result = await run(
      shellSpec('cat shared.txt keep.txt; echo changed > keep.txt; echo new > new.txt; rm shared.txt; ls', {
        cwd: '/tree',
        mounts: [
          {
            kind: 'overlay',
            lowers: [join(root, 'top'), join(root, 'bottom')],
            upper: join(root, 'upper'),
            work: join(root, 'work'),
            target: '/tree',
          },
        ],
      }),
    );
    expect(text(result)).toBe('top\nkeep\nkeep.txt\nnew.txt\n');
    expect(readFileSync(join(root, 'bottom', 'keep.txt'), 'utf8')).toBe('keep\n');
    expect(readFileSync(join(root, 'top', 'shared.txt'), 'utf8')).toBe('top\n');
    expect(readFileSync(join(root, 'upper', 'keep.txt'), 'utf8')).toBe('changed\n');
    expect(readFileSync(join(root, 'upper', 'new.txt'), 'utf8')).toBe('new\n');
  });

  it('overlay: a directory of a lower layer can be removed, recreated and renamed', async () => {
    const root = tempDir();
    for (const name of ['lower/gone/deep', 'lower/moved', 'upper', 'work'])
      mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, 'lower', 'gone', 'deep', 'old.txt'), 'old\n');
    writeFileSync(join(root, 'lower', 'moved', 'm.txt'), 'm\n');
    const result = await run(
      shellSpec('rm -rf gone && mkdir gone && echo new > gone/new.txt && mv moved renamed && ls -R', {
        cwd: '/tree',
        mounts: [
          {
            kind: 'overlay',
            lowers: [join(root, 'lower')],
            upper: join(root, 'upper'),
            work: join(root, 'work'),
            target: '/tree',
          },
        ],
      }),
    );
    expect(text(result)).toBe('.:\ngone\nrenamed\n\n./gone:\nnew.txt\n\n./renamed:\nm.txt\n');
    expect(readFileSync(join(root, 'lower', 'gone', 'deep', 'old.txt'), 'utf8')).toBe('old\n');
    expect(readdirSync(join(root, 'lower', 'moved'))).toEqual(['m.txt']);
  });

  it('tmpfs mounts are private and empty', async () => {
    const result = await run(
      shellSpec('ls -A /scratch; echo x > /scratch/f && cat /scratch/f', {
        mounts: [{ kind: 'tmpfs', target: '/scratch' }],
      }),
    );
    expect(text(result)).toBe('x\n');
  });
});

describe('escapes', () => {
  it('a write through a symlink to the outside lands nowhere outside (REDTEAM 16)', async () => {
    const tree = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'victim.txt'), 'original\n');
    symlinkSync(join(outside, 'victim.txt'), join(tree, 'link-abs'));
    symlinkSync('../../../../../../../../..' + join(outside, 'victim.txt'), join(tree, 'link-rel'));
    symlinkSync(join(outside), join(tree, 'dir-link'));
    const result = await run(
      shellSpec(
        'for l in link-abs link-rel dir-link/victim.txt dir-link/new.txt; do echo pwned > $l || echo "refused $l"; done',
        {
          cwd: '/tree',
          mounts: [{ kind: 'bindWritable', source: tree, target: '/tree' }],
        },
      ),
    );
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('original\n');
    expect(readdirSync(outside)).toEqual(['victim.txt']);
  });

  it('filling /tmp stops at the tmpfs size with a clear error (REDTEAM 23)', async () => {
    const result = await run(
      shellSpec('head -c 50000000 /dev/zero > /tmp/fill; echo "status $?"; wc -c < /tmp/fill', {
        limits: { ...defaultSandboxLimits, tmpfsBytesMax: 8 * 1024 * 1024 },
      }),
    );
    const output = text(result);
    expect(output).toContain('No space left on device');
    expect(output).toMatch(/status 1\n8388608\n$/);
  });

  it('the root and system dirs are read-only; the host /etc is not there', async () => {
    const result = await run(
      shellSpec(
        'for p in /newfile /usr/newfile /etc/newfile; do touch $p 2>/dev/null || echo "refused $p"; done; ls /etc',
      ),
    );
    expect(text(result)).toBe(
      `refused /newfile\nrefused /usr/newfile\nrefused /etc/newfile\n${[
        ...systemEtc.filter((path) => existsSync(path)).map((path) => path.slice('/etc/'.length)),
        'group',
        'hosts',
        'passwd',
      ]
        .sort()
        .join('\n')}\n`,
    );
  });
});

describe('git inside', () => {
  it('git --version and git status work in a tree', async () => {
    const repo = tempDir();
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    };
    execFileSync('git', ['init', '-q', '-b', 'main', repo], { env });
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    execFileSync('git', ['-C', repo, 'add', '.'], { env });
    execFileSync('git', ['-C', repo, 'commit', '-qm', 'init'], { env });
    writeFileSync(join(repo, 'a.txt'), 'b\n');
    const result = await run(
      shellSpec('git --version | cut -d" " -f1-2; git status --porcelain', {
        cwd: '/tree',
        mounts: [{ kind: 'bindWritable', source: repo, target: '/tree' }],
      }),
    );
    expect(text(result)).toBe('git version\n M a.txt\n');
  });
});
