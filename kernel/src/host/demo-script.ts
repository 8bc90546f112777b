/**
 * The scripted model that `crustcore demo` plays through the net sidecar's offline `scripted`
 * provider, on the example repo of `demo-repo.ts`. Attempt 1 reads `src/stats.js`, fixes only the
 * loop, claims success and submits: the kernel's verify rejects it. Attempt 2 starts from a fresh
 * tree with the failure output in its first message, also handles the empty list, and submits:
 * verified. Each turn checks the last message it receives, so the script fails loudly if the
 * kernel's loop stops behaving as described.
 */
import { demoRepoFiles } from './demo-repo.js';

/** One scripted turn, in the net sidecar's script format. */
export interface DemoTurn {
  readonly expect: { readonly role: 'user' | 'tool'; readonly contains: string };
  readonly content: string;
  readonly toolCalls: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
}

const buggy = demoRepoFiles['src/stats.js'] ?? '';
const loopFixed = buggy.replace('let i = 1;', 'let i = 0;');
const fullyFixed = loopFixed.replace('  let total = 0;\n', '  if (values.length === 0) return 0;\n  let total = 0;\n');

function call(id: string, name: string, args: Readonly<Record<string, string>>): DemoTurn['toolCalls'][number] {
  return { id, name, arguments: JSON.stringify(args) };
}

/** The demo's model script: six turns over two attempts. */
export const demoModelScript: { readonly turns: readonly DemoTurn[] } = {
  turns: [
    {
      expect: { role: 'user', contains: 'Attempt 1 of' },
      content: 'I will read the module under test first.',
      toolCalls: [call('call_1', 'read_file', { path: 'src/stats.js' })],
    },
    {
      expect: { role: 'tool', contains: 'for (let i = 1;' },
      content: 'The loop skips the first value. Fixing the loop.',
      toolCalls: [call('call_2', 'write_file', { path: 'src/stats.js', content: loopFixed })],
    },
    {
      expect: { role: 'tool', contains: 'wrote' },
      content: 'Done: the loop now starts at 0, so all tests pass.',
      toolCalls: [call('call_3', 'submit', { summary: 'mean() now averages every value; all tests pass.' })],
    },
    {
      expect: { role: 'user', contains: 'was rejected by the kernel' },
      content: 'The empty list still fails (0 / 0 is NaN). Reading the file again in the fresh tree.',
      toolCalls: [call('call_4', 'read_file', { path: 'src/stats.js' })],
    },
    {
      expect: { role: 'tool', contains: 'for (let i = 1;' },
      content: 'Fixing the loop and returning 0 for an empty list.',
      toolCalls: [call('call_5', 'write_file', { path: 'src/stats.js', content: fullyFixed })],
    },
    {
      expect: { role: 'tool', contains: 'wrote' },
      content: 'Submitting the complete fix.',
      toolCalls: [call('call_6', 'submit', { summary: 'mean() averages every value and returns 0 for [].' })],
    },
  ],
};

/** The model the demo asks for: the net sidecar's scripted mock. */
export const demoModelSpec = 'mock:scripted';
