/** The lock completer adds exactly the platform entries npm would have recorded, and nothing else. */
import { expect, test } from 'vitest';
import { completeLock, platformOf } from '../src/lock-platforms.js';

test('platform tags are inferred from package names', () => {
  expect(platformOf('@rollup/rollup-linux-arm-musleabihf')).toEqual({ os: ['linux'], cpu: ['arm'], libc: ['musl'] });
  expect(platformOf('@rollup/rollup-win32-x64-msvc')).toEqual({ os: ['win32'], cpu: ['x64'] });
  expect(platformOf('@rollup/rollup-android-arm-eabi')).toEqual({ os: ['android'], cpu: ['arm'] });
  expect(platformOf('fsevents')).toBeNull();
});

test('missing optional platform entries are added; present and unknown ones are not', () => {
  const lock: { packages: Record<string, Record<string, unknown>> } = {
    packages: {
      '': { name: 'root' },
      'node_modules/rollup': {
        version: '4.0.0',
        dev: true,
        license: 'MIT',
        optionalDependencies: {
          '@rollup/rollup-darwin-arm64': '4.0.0',
          '@rollup/rollup-linux-x64-gnu': '4.0.0',
          fsevents: '2.0.0',
        },
      },
      'node_modules/@rollup/rollup-linux-x64-gnu': { version: '4.0.0', dev: true, optional: true },
    },
  };
  expect(completeLock(lock)).toEqual({ added: ['@rollup/rollup-darwin-arm64'], unknown: ['fsevents'] });
  expect(Object.keys(lock.packages)).toEqual([
    '',
    'node_modules/@rollup/rollup-darwin-arm64',
    'node_modules/@rollup/rollup-linux-x64-gnu',
    'node_modules/rollup',
  ]);
  expect(lock.packages['node_modules/@rollup/rollup-darwin-arm64']).toEqual({
    version: '4.0.0',
    os: ['darwin'],
    cpu: ['arm64'],
    dev: true,
    optional: true,
    license: 'MIT',
  });
});
