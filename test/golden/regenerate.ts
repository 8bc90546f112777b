/**
 * Rewrites the golden fixtures in this folder: `basic.jsonl`, `basic.jsonl.head` and the expected
 * outputs of `inspect` and `replay`. Run `npx tsx test/golden/regenerate.ts` from the repo root
 * only when the log format or the CLI output changes on purpose, and review the diff.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryIo } from '../../kernel/src/cli/io.js';
import { runCli } from '../../kernel/src/cli/run-cli.js';
import { installGoldenKey, writeGoldenLog } from './golden-log.js';

const folder = 'test/golden';
const scratch = mkdtempSync(join(tmpdir(), 'crustcore-golden-'));
try {
  const key = installGoldenKey(readFileSync(join(folder, 'log-anchor.key.hex'), 'utf8'), join(scratch, 'state'));
  rmSync(join(folder, 'basic.jsonl'), { force: true });
  rmSync(join(folder, 'basic.jsonl.head'), { force: true });
  writeGoldenLog(join(folder, 'basic.jsonl'), key);
  for (const [command, file] of [
    [['inspect', `${folder}/basic.jsonl`], 'basic.inspect.txt'],
    [['inspect', `${folder}/basic.jsonl`, '--json'], 'basic.inspect.json'],
    [['replay', `${folder}/basic.jsonl`], 'basic.replay.txt'],
  ] as const) {
    const io = memoryIo({ CRUSTCORE_STATE_DIR: join(scratch, 'state') });
    const code = await runCli(command, io);
    if (code !== 0) throw new Error(`${command.join(' ')} exited ${code}: ${io.err()}`);
    writeFileSync(join(folder, file), io.out());
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
