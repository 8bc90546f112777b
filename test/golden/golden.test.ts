/**
 * Golden log: the committed `basic.jsonl` (+ `.head`) is exactly what the writer produces from the
 * fixed inputs in `golden-log.ts`, and `inspect`/`replay` print exactly the committed outputs.
 * A third-party verifier can test itself against the same files and `log-anchor.key.hex`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MacKey } from '../../kernel/src/host/state-dir.js';
import { memoryIo } from '../../kernel/src/cli/io.js';
import { runCli } from '../../kernel/src/cli/run-cli.js';
import { installGoldenKey, writeGoldenLog } from './golden-log.js';

const folder = 'test/golden';
let scratch: string;
let key: MacKey;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'crustcore-golden-'));
  key = installGoldenKey(readFileSync(join(folder, 'log-anchor.key.hex'), 'utf8'), join(scratch, 'state'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo({ CRUSTCORE_STATE_DIR: join(scratch, 'state') });
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('golden log', () => {
  it('the writer reproduces the committed log and head anchor byte for byte', () => {
    const path = join(scratch, 'basic.jsonl');
    writeGoldenLog(path, key);
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(join(folder, 'basic.jsonl'), 'utf8'));
    expect(readFileSync(`${path}.head`, 'utf8')).toBe(readFileSync(join(folder, 'basic.jsonl.head'), 'utf8'));
  });

  it.each([
    [['inspect', `${folder}/basic.jsonl`], 'basic.inspect.txt'],
    [['inspect', `${folder}/basic.jsonl`, '--json'], 'basic.inspect.json'],
    [['replay', `${folder}/basic.jsonl`], 'basic.replay.txt'],
  ])('crustcore %j prints the committed output', async (args, expectedFile) => {
    expect(await run(args)).toEqual({ code: 0, out: readFileSync(join(folder, expectedFile), 'utf8'), err: '' });
  });
});
