/**
 * The CLI: each command in-process through `runCli` with a memory `Io` (whole-output equality),
 * plus the built bundle as a real process for exit codes and the absence of stack traces.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { memoryIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/run-cli.js';
import { canonicalJson } from '../../src/core/index.js';
import { inspectLog } from '../../src/log/inspect.js';
import { sampleEvents } from '../log/sample-events.js';
import { sampleLog, scratch, type Scratch } from '../log/log-fixture.js';

const bundle = 'kernel/dist/crustcore.js';

let at: Scratch;
beforeEach(() => {
  at = scratch();
});
afterEach(() => at.cleanup());

async function run(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo({ CRUSTCORE_STATE_DIR: at.stateDir.path });
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

function lineStarts(bytes: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 0x0a) starts.push(i + 1);
  return starts;
}

describe('usage errors exit 2 with one line', () => {
  it.each([
    [[], "crustcore: no command given. Run 'crustcore help' to list the commands.\n"],
    [['frobnicate'], "crustcore: unknown command 'frobnicate'. Run 'crustcore help' to list the commands.\n"],
    [
      ['inspect', 'x.jsonl', '--foo'],
      "crustcore: unknown option '--foo' for 'inspect'. Run 'crustcore help inspect'.\n",
    ],
    [['inspect'], "crustcore: 'inspect' needs <log>. Run 'crustcore help inspect'.\n"],
    [
      ['inspect', 'x.jsonl', '--state-dir'],
      "crustcore: option '--state-dir' for 'inspect' needs a value. Run 'crustcore help inspect'.\n",
    ],
    [['export', 'a', 'b'], "crustcore: unexpected argument 'b' for 'export'. Run 'crustcore help export'.\n"],
    [
      ['version', '--json=yes'],
      "crustcore: option '--json' for 'version' takes no value. Run 'crustcore help version'.\n",
    ],
    [['help', 'nope'], "crustcore: unknown command 'nope'. Run 'crustcore help' to list the commands.\n"],
  ])('%j', async (args, err) => {
    expect(await run(args)).toEqual({ code: ExitCode.usage, out: '', err });
  });
});

describe('inspect', () => {
  it('prints INTACT and the per-task summary', async () => {
    const path = sampleLog(at, 'a.jsonl', 2, 'ab'.repeat(16));
    const bytes = readFileSync(path).length;
    expect(await run(['inspect', path])).toEqual({
      code: 0,
      err: '',
      out: [
        `INTACT ${path}`,
        `log ${'ab'.repeat(16)}, created 2023-11-14T22:13:20.000Z`,
        `19 records: genesis, 18 events, 0 checkpoints (${bytes} bytes)`,
        'head anchor: MAC verified, names record 18',
        'tasks (2):',
        '  task-1  verified  2 attempts',
        '  task-2  verified  2 attempts',
        '',
      ].join('\n'),
    });
  });

  it('--json prints the report as one JSON object', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const result = await run(['inspect', path, '--json']);
    expect([result.code, result.err, result.out.endsWith('}\n'), result.out.split('\n').length]).toEqual([
      0,
      '',
      true,
      2,
    ]);
    expect(JSON.parse(result.out)).toEqual(inspectLog(path, { anchorKey: at.anchorKey }));
  });

  it('J46: a flipped byte in record 500 is named, exit 1', async () => {
    const path = sampleLog(at, 'a.jsonl', 60);
    const bytes = readFileSync(path);
    const offset = lineStarts(bytes)[500] ?? 0;
    bytes[offset + 100] = (bytes[offset + 100] ?? 0) ^ 0x20;
    writeFileSync(path, bytes);
    expect(await run(['inspect', path])).toEqual({
      code: 1,
      err: '',
      out: [
        `TAMPERED ${path}`,
        `log ${inspectLog(path, { anchorKey: null }).logId ?? ''}, created 2023-11-14T22:13:20.000Z`,
        `first bad record: 500 at byte ${offset}`,
        'reason: hash mismatch: the record was changed after it was written',
        'records 0..499 verified before it',
        'tasks (56, from the verified records):',
        ...Array.from({ length: 56 }, (_, i) => {
          const task = `task-${i + 1}`.padEnd(7);
          return i === 55 ? `  ${task}  verifying  1 attempt` : `  ${task}  verified   2 attempts`;
        }),
        '',
      ].join('\n'),
    });
  });

  it('J47-J49 through the CLI: dropped tail, reorder, splice and torn line all exit 1 and name the record', async () => {
    const path = sampleLog(at, 'a.jsonl', 2);
    const original = readFileSync(path, 'utf8');
    const lines = original.split('\n').slice(0, -1);
    const foreign = readFileSync(sampleLog(at, 'b.jsonl', 2), 'utf8').split('\n');
    const cases: [string, string][] = [
      [`${lines.slice(0, 15).join('\n')}\n`, 'first bad record: 15'],
      [`${[...lines.slice(0, 3), lines[4], lines[3], ...lines.slice(5)].join('\n')}\n`, 'first bad record: 3'],
      [`${[...lines.slice(0, 8), foreign[8], ...lines.slice(9)].join('\n')}\n`, 'first bad record: 8'],
      [`${original}{"seq":19,"pr`, 'first bad record: 19'],
    ];
    for (const [text, where] of cases) {
      writeFileSync(path, text);
      const result = await run(['inspect', path]);
      expect([result.code, result.out.split('\n')[2]?.startsWith(where)]).toEqual([1, true]);
    }
  });

  it('without the anchor key, says the MAC was not checked', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const io = memoryIo({ CRUSTCORE_STATE_DIR: join(at.dir, 'no-state') });
    expect(await runCli(['inspect', path], io)).toBe(0);
    expect(io.out().split('\n')[3]).toBe(
      `head anchor: names record 9, MAC not checked (no 'log-anchor' key in ${join(at.dir, 'no-state')}); a rewritten log would go unnoticed`,
    );
  });

  it('an insecure state dir is a one-line config error', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const io = memoryIo({ CRUSTCORE_STATE_DIR: 'relative/state' });
    expect([await runCli(['inspect', path], io), io.out(), io.err()]).toEqual([
      2,
      '',
      "crustcore: CRUSTCORE_STATE_DIR 'relative/state' is not an absolute path; set it to an absolute path.\n",
    ]);
  });
});

describe('export and replay', () => {
  it('export prints the events as JSONL', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    expect(await run(['export', path])).toEqual({
      code: 0,
      err: '',
      out: sampleEvents(1)
        .map((event) => `${canonicalJson(event)}\n`)
        .join(''),
    });
  });

  it('export --json prints one object holding the events', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const result = await run(['export', path, '--json']);
    const parsed = JSON.parse(result.out) as { status: string; exported: number; events: unknown[] };
    expect([result.code, parsed.status, parsed.exported, parsed.events]).toEqual([0, 'intact', 9, sampleEvents(1)]);
  });

  it('export of a torn log prints the intact events and exits 1', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"seq":10`, { flag: 'w' });
    const result = await run(['export', path]);
    expect([result.code, result.out.split('\n').length - 1, result.err]).toEqual([
      1,
      9,
      `crustcore: exported 9 events, but the log is torn at record 10 (torn final line: 9 bytes without a terminating newline (an append was cut off)). Run 'crustcore inspect ${path}'.\n`,
    ]);
  });

  it('replay of a log without checkpoint prints the digest and exits 0', async () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const result = await run(['replay', path]);
    expect([result.code, result.out.split('\n')[0], result.out.split('\n')[4]]).toEqual([
      0,
      `REPLAYED ${path}`,
      'no checkpoint in the log to compare with',
    ]);
  });

  it('version and help', async () => {
    const version = await run(['version']);
    expect(version.out).toMatch(/^crustcore \d+\.\d+\.\d+ \(log format 1, node v\d+/);
    const help = await run(['inspect', '--help']);
    expect([help.code, help.out.split('\n')[0]]).toEqual([
      0,
      'usage: crustcore inspect <log> [--state-dir <path>] [--json]',
    ]);
    const overview = await run(['help', '--json']);
    expect((JSON.parse(overview.out) as { commands: { name: string }[] }).commands.map((c) => c.name)).toEqual([
      'run',
      'demo',
      'doctor',
      'approvals',
      'approve',
      'deny',
      'integrate',
      'inspect',
      'export',
      'replay',
      'secrets',
      'version',
      'help',
    ]);
  });
});

describe('the built bundle', () => {
  beforeAll(() => {
    // `npm test` builds first; build here only when the bundle is missing (a lone run of this file).
    if (!existsSync(bundle)) execFileSync('npx', ['tsx', 'xtask/src/main.ts', 'build', '--quiet'], { stdio: 'ignore' });
  });

  it('exits 0 on an intact log and 1 on a tampered one, never with a stack trace', () => {
    const path = sampleLog(at, 'a.jsonl', 1);
    const env = { ...process.env, CRUSTCORE_STATE_DIR: at.stateDir.path };
    const ok = spawnSync(process.execPath, [bundle, 'inspect', path], { env, encoding: 'utf8' });
    expect([ok.status, ok.stdout.split('\n')[0], ok.stderr]).toEqual([0, `INTACT ${path}`, '']);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"attempt":1', '"attempt":7'));
    const bad = spawnSync(process.execPath, [bundle, 'inspect', path], { env, encoding: 'utf8' });
    expect([bad.status, bad.stdout.split('\n')[0], bad.stderr]).toEqual([1, `TAMPERED ${path}`, '']);
    const usage = spawnSync(process.execPath, [bundle, 'inspect', '--nope'], { env, encoding: 'utf8' });
    expect([usage.status, usage.stdout, usage.stderr]).toEqual([
      2,
      '',
      "crustcore: unknown option '--nope' for 'inspect'. Run 'crustcore help inspect'.\n",
    ]);
  });
});
