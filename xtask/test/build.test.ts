import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';

test('the nano bundle runs with plain node', () => {
  expect(execFileSync(process.execPath, ['kernel/dist/crustcore.js'], { encoding: 'utf8' })).toMatch(/^crustcore /);
});
