/** Version negotiation: same major (and same minor under 0.x) agree on the lower version; anything else is refused by name. */
import { describe, expect, test } from 'vitest';
import { negotiate, parseVersion, protocolVersion } from '../src/versions.js';

describe('negotiate', () => {
  test('agrees on the lower version within a major', () => {
    expect(negotiate('1.4.0', '1.2.3')).toEqual({ ok: true, version: '1.2.3' });
    expect(negotiate('1.0.0', '1.0.1')).toEqual({ ok: true, version: '1.0.0' });
    expect(negotiate(protocolVersion, protocolVersion)).toEqual({ ok: true, version: protocolVersion });
  });

  test('refuses a major mismatch and names both versions', () => {
    expect(negotiate('1.0.0', '2.1.0')).toEqual({
      ok: false,
      code: 'versionMismatch',
      message:
        'incompatible protocol versions: ours is "1.0.0", the peer\'s is "2.1.0"; upgrade the older side to the same major version',
    });
  });

  test('treats 0.x minors as breaking', () => {
    expect(negotiate('0.3.0', '0.4.0').ok).toBe(false);
    expect(negotiate('0.3.0', '0.3.9')).toEqual({ ok: true, version: '0.3.0' });
  });

  test('refuses strings that are not major.minor.patch', () => {
    for (const theirs of ['1', '1.0', 'v1.0.0', '1.0.0-beta', '01.0.0', '1.0.0 ', '']) {
      expect(negotiate('1.0.0', theirs)).toMatchObject({ ok: false, code: 'versionMismatch' });
    }
  });
});

test('parseVersion reads the three numbers', () => {
  expect(parseVersion('12.0.7')).toEqual({ major: 12, minor: 0, patch: 7 });
  expect(parseVersion('1.2.3.4')).toBeNull();
});
