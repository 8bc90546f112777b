/**
 * The state dir: where it is, that it is private, and that its keys are sound and never leak.
 * Real directories under os.tmpdir(); every input is passed in (no process.env).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateDir, StateDirError, resolveStateDirPath } from '../../src/host/state-dir.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crustcore-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveStateDirPath', () => {
  it('prefers CRUSTCORE_STATE_DIR, then XDG_STATE_HOME, then HOME', () => {
    expect([
      resolveStateDirPath({ CRUSTCORE_STATE_DIR: '/s', XDG_STATE_HOME: '/x', HOME: '/h' }),
      resolveStateDirPath({ XDG_STATE_HOME: '/x', HOME: '/h' }),
      resolveStateDirPath({ XDG_STATE_HOME: 'relative', HOME: '/h' }),
      resolveStateDirPath({ HOME: '/h' }),
    ]).toEqual(['/s', '/x/crustcore', '/h/.local/state/crustcore', '/h/.local/state/crustcore']);
  });

  it('refuses a relative CRUSTCORE_STATE_DIR', () => {
    expect(() => resolveStateDirPath({ CRUSTCORE_STATE_DIR: 'state' })).toThrow(
      new StateDirError('badEnv', "CRUSTCORE_STATE_DIR 'state' is not an absolute path; set it to an absolute path."),
    );
  });
});

describe('StateDir', () => {
  it('creates the dir with mode 0700', () => {
    const path = join(dir, 'a', 'state');
    const stateDir = StateDir.open({ CRUSTCORE_STATE_DIR: path });
    expect([stateDir.path, statSync(path).mode & 0o777]).toEqual([path, 0o700]);
  });

  it('refuses an existing dir open to group or others', () => {
    const path = join(dir, 'state');
    mkdirSync(path, { mode: 0o755 });
    chmodSync(path, 0o755);
    expect(() => StateDir.open({ CRUSTCORE_STATE_DIR: path })).toThrow(
      new StateDirError(
        'insecureMode',
        `state dir ${path} has mode 755, open to group or others; run 'chmod 700 ${path}'.`,
      ),
    );
  });

  it('refuses a symlink', () => {
    const real = join(dir, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(dir, 'link');
    symlinkSync(real, link);
    expect(() => StateDir.open({ CRUSTCORE_STATE_DIR: link })).toThrow(
      new StateDirError(
        'symlink',
        `state dir ${link} is a symlink; remove it or point the setting at a real directory.`,
      ),
    );
  });

  it('find does not create the dir', () => {
    const path = join(dir, 'absent');
    expect(StateDir.find({ CRUSTCORE_STATE_DIR: path })).toBe(null);
    expect(() => statSync(path)).toThrow(/ENOENT/);
  });

  it('gives one private subfolder per repo real path', () => {
    const stateDir = StateDir.open({ CRUSTCORE_STATE_DIR: join(dir, 'state') });
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    symlinkSync(repo, join(dir, 'repo-link'));
    const first = stateDir.repoDir(repo);
    expect(stateDir.repoDir(join(dir, 'repo-link'))).toBe(first);
    expect(first).toMatch(/\/repos\/[0-9a-f]{32}$/);
    expect(statSync(first).mode & 0o777).toBe(0o700);
  });
});

describe('keys', () => {
  it('creates a 32-byte key with mode 0600 once, and loads the same key again', () => {
    const env = { CRUSTCORE_STATE_DIR: join(dir, 'state') };
    const key = StateDir.open(env).loadOrCreateKey('log-anchor');
    const path = join(dir, 'state', 'keys', 'log-anchor.key');
    expect([statSync(path).mode & 0o777, statSync(path).size]).toEqual([0o600, 32]);
    const again = StateDir.open(env).loadOrCreateKey('log-anchor');
    expect(again.hmacHex('x')).toBe(key.hmacHex('x'));
    expect(StateDir.open(env).loadKey('receipts')).toBe(null);
  });

  it('refuses a key file with the wrong mode or size, and never rewrites it', () => {
    const stateDir = StateDir.open({ CRUSTCORE_STATE_DIR: join(dir, 'state') });
    stateDir.loadOrCreateKey('log-anchor');
    const path = stateDir.keyPath('log-anchor');
    chmodSync(path, 0o644);
    expect(() => stateDir.loadKey('log-anchor')).toThrow(
      new StateDirError(
        'badKeyFile',
        `key file ${path} has mode 644, readable by group or others; treat the key as leaked: remove it (a new key is created).`,
      ),
    );
    chmodSync(path, 0o600);
    writeFileSync(path, Buffer.alloc(31));
    expect(() => stateDir.loadOrCreateKey('log-anchor')).toThrow(
      new StateDirError(
        'badKeyFile',
        `key file ${path} has 31 bytes, expected 32; it is damaged or not a crustcore key.`,
      ),
    );
    expect(readFileSync(path)).toEqual(Buffer.alloc(31));
  });

  it('refuses a key name that could escape keys/', () => {
    const stateDir = StateDir.open({ CRUSTCORE_STATE_DIR: join(dir, 'state') });
    expect(() => stateDir.loadOrCreateKey('../x')).toThrow(StateDirError);
  });

  it('never reveals key bytes', () => {
    const stateDir = StateDir.open({ CRUSTCORE_STATE_DIR: join(dir, 'state') });
    const key = stateDir.loadOrCreateKey('receipts');
    const hex = readFileSync(stateDir.keyPath('receipts')).toString('hex');
    const shown = [String(key), JSON.stringify({ key }), inspect(key, { showHidden: true, depth: 5 })].join(' ');
    expect(shown).toBe('[MacKey receipts] {"key":"[MacKey receipts]"} [MacKey receipts]');
    expect(shown.includes(hex)).toBe(false);
  });
});
