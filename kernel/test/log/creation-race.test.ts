/**
 * Invariant: a key file and a log's lock are never seen half-written. Of many processes creating
 * the same key in a fresh state dir at the same moment, every one ends with the same complete key;
 * of many taking the same lock at once, exactly one holds it and every other is told who does.
 * Method: real child processes, each started and then released together by a go file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const childScript = fileURLToPath(new URL('./race-child.ts', import.meta.url));
const racers = 12;
const rounds = 3;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Starts `racers` children, releases them together once all are ready, and returns their answers. */
async function race(mode: 'key' | 'lock', root: string): Promise<string[]> {
  const goFile = join(root, 'go');
  const children: ChildProcess[] = [];
  cleanups.push(() => children.forEach((child) => child.kill('SIGKILL')));
  const answers = Array.from({ length: racers }, (_, index) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', childScript, mode, join(root, 'state'), goFile, join(root, 'task.jsonl')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children[index] = child;
    let out = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.startsWith('ready\n')) resolve();
      }),
    );
    const answered = new Promise<string>((resolve) => {
      const check = (): void => {
        const line = out.split('\n')[1];
        if (line !== undefined && line !== '') resolve(line);
      };
      child.stdout?.on('data', check);
      child.on('close', () => resolve(out.split('\n')[1] ?? `exited without an answer: ${out}`));
    });
    return { ready, answered };
  });
  await Promise.all(answers.map((answer) => answer.ready));
  writeFileSync(goFile, 'go\n');
  return Promise.all(answers.map((answer) => answer.answered));
}

function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'crustcore-race-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

describe('creation races', () => {
  it('every process creating the same new key gets the same complete key', async () => {
    for (let round = 0; round < rounds; round++) {
      const answers = await race('key', freshRoot());
      const first = answers[0] ?? '';
      expect(first).toMatch(/^key [0-9a-f]{64}$/);
      expect(answers).toEqual(Array.from({ length: racers }, () => first));
    }
  });

  it('exactly one process takes a contended lock; the others are told it is held', async () => {
    for (let round = 0; round < rounds; round++) {
      const answers = await race('lock', freshRoot());
      expect(answers.filter((answer) => answer === 'locked')).toEqual(['locked']);
      const others = answers.filter((answer) => answer !== 'locked');
      expect(
        others.every((answer) =>
          /^error log \S+ is (locked by a running crustcore \(pid \d+\)|being locked by another process at the same time)/.test(
            answer,
          ),
        ),
      ).toBe(true);
    }
  });
});
