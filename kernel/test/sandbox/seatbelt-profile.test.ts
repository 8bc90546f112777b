/**
 * The macOS Seatbelt profile is compared with a reviewed golden file (it cannot run here: no
 * macOS). The golden shows deny-by-default, reads limited to system dirs + toolchain + tree,
 * writes limited to the tree and the private tmp/home, no network, and no blanket read of $HOME.
 * Regenerate on purpose with UPDATE_GOLDEN=1 and review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seatbeltProfile, type SeatbeltInput } from '../../src/sandbox/index.js';

const golden = join(import.meta.dirname, 'golden', 'verify.sb');

const input: SeatbeltInput = {
  spec: {
    network: false,
    mounts: [
      { kind: 'bindWritable', source: '/private/var/folders/xy/T/crustcore-attempt-a1b2/tree', target: '/tree' },
      { kind: 'bindReadOnly', source: '/Users/dev/project/node_modules', target: '/tree/node_modules' },
    ],
  },
  toolchain: {
    binds: ['/Users/dev/.nvm/versions/node/v22.1.0', '/Users/dev/.cargo'],
    masks: ['/Users/dev/.cargo/credentials.toml'],
  },
  privateTmp: '/private/var/folders/xy/T/crustcore-run-1/tmp',
  privateHome: '/private/var/folders/xy/T/crustcore-run-1/home',
};

describe('seatbeltProfile', () => {
  it('matches the golden profile', () => {
    const profile = seatbeltProfile(input);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, profile);
    expect(profile).toBe(readFileSync(golden, 'utf8'));
  });

  it('never grants $HOME as a whole, and allows the network only when asked', () => {
    const profile = seatbeltProfile(input);
    expect(profile).not.toContain('(subpath "/Users/dev")');
    expect(profile).toContain('(deny network*)');
    expect(seatbeltProfile({ ...input, spec: { ...input.spec, network: true } })).toContain('(allow network*)');
  });

  it('escapes quotes and refuses multi-line paths', () => {
    const quoted = seatbeltProfile({ ...input, privateTmp: '/tmp/a"b\\c' });
    expect(quoted).toContain('(subpath "/tmp/a\\"b\\\\c")');
    expect(() => seatbeltProfile({ ...input, privateTmp: '/tmp/a\n(allow default)' })).toThrow(TypeError);
  });
});
