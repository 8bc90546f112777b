/**
 * The example repository and deterministic worker that `crustcore demo` runs offline.
 *
 * The repo has a real bug (the mean skips the first value and divides by zero on an empty list).
 * The worker reads the kernel's JSON contract on stdin: its first attempt fixes only the loop, so
 * verify rejects it; its second attempt also handles the empty list, so verify passes.
 */

/** Files of the example repo, committed as its base. */
export const demoRepoFiles: Readonly<Record<string, string>> = {
  'package.json': `${JSON.stringify({ name: 'demo-stats', private: true, type: 'module', scripts: { test: 'node --test' } }, null, 2)}\n`,
  'README.md': '# demo-stats\n\nA tiny statistics module. `npm test` runs its tests.\n',
  'src/stats.js': [
    '/** The arithmetic mean of a list of numbers; 0 for an empty list. */',
    'export function mean(values) {',
    '  let total = 0;',
    '  for (let i = 1; i < values.length; i++) total += values[i];',
    '  return total / values.length;',
    '}',
    '',
  ].join('\n'),
  'test/stats.test.js': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import { mean } from '../src/stats.js';",
    '',
    "test('mean of several values', () => assert.equal(mean([2, 4, 6]), 4));",
    "test('mean of an empty list is 0', () => assert.equal(mean([]), 0));",
    '',
  ].join('\n'),
};

/** What the demo asks for. */
export const demoGoal = 'Fix mean(): it must average every value and return 0 for an empty list.';

/** The user's verify command for the example repo. */
export const demoVerifyCommand = 'node --test';

/**
 * The bundled worker: a POSIX shell script run inside the sandbox in the attempt tree.
 * It takes the attempt number from the contract on stdin: one line of canonical JSON, whose sorted
 * keys put `attempt` first.
 */
export const demoWorkerCommand = [
  `attempt=$(sed -n 's/^{"attempt":\\([0-9]*\\).*/\\1/p' | head -n 1)`,
  `sed -i 's/let i = 1;/let i = 0;/' src/stats.js`,
  `if [ "$attempt" != 1 ]; then sed -i 's/^  let total = 0;$/  if (values.length === 0) return 0;\\n  let total = 0;/' src/stats.js; fi`,
].join('\n');
