/**
 * The native agent loop end to end: the kernel's `runTask` with a `model` candidate, the real net
 * sidecar bundle in scripted mode (or a real misbehaving sidecar process), real git and the real
 * bubblewrap sandbox. Invariants: a task is verified only by the kernel's verify run (after a
 * retry that received the failure output); attempts, turns and a model that never submits end
 * the task rejected; a sidecar crash becomes `attemptFailed { code: 'sidecarExited' }`, never a
 * hang; a provider key reaches the sidecar only inside `net/complete` params, never its env, argv
 * or the log. Every log is read back record by record.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveModelCandidate, type ModelCandidate } from '../../kernel/src/host/agent-model.js';
import { defaultConfig } from '../../kernel/src/host/config.js';
import { demoGoal, demoRepoFiles, demoVerifyCommand } from '../../kernel/src/host/demo-repo.js';
import { demoModelScript } from '../../kernel/src/host/demo-script.js';
import { runTask, type RunReport } from '../../kernel/src/host/run-task.js';
import { runCli } from '../../kernel/src/cli/run-cli.js';
import { memoryIo } from '../../kernel/src/cli/io.js';
import { eventsOf, attemptsLeft, makeRepo, makeWorld, requireBwrap, useWorlds, type World } from './support.js';

requireBwrap();
useWorlds();

function scripted(world: World, turns: unknown[], turnsMax?: number): ModelCandidate {
  const script = join(world.root, `script-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(script, JSON.stringify({ turns }));
  const candidate = resolveModelCandidate({
    spec: 'mock:scripted',
    scriptPath: script,
    ...(turnsMax === undefined ? {} : { turnsMax }),
    config: defaultConfig,
    secret: () => null,
    cwd: world.root,
  });
  if (typeof candidate === 'string') throw new Error(candidate);
  return candidate;
}

async function runModel(world: World, candidate: ModelCandidate, attemptsMax: number): Promise<RunReport> {
  const repo = makeRepo(world, demoRepoFiles);
  const outcome = await runTask({
    repoDir: repo.dir,
    verifyCommand: demoVerifyCommand,
    goal: demoGoal,
    candidate: { kind: 'model', ...candidate },
    attemptsMax,
    baseRev: 'HEAD',
    timeoutMs: 60_000,
    backend: 'bwrap',
    allowProtected: [],
    env: world.env,
    progress: () => undefined,
  });
  if (!outcome.ok) throw new Error(outcome.error.message);
  expect(attemptsLeft(world)).toEqual([]);
  return outcome.report;
}

const call = (id: string, name: string, args: Record<string, string>) => ({
  id,
  name,
  arguments: JSON.stringify(args),
});
const buggy = demoRepoFiles['src/stats.js'] ?? '';
const wrongFix = buggy.replace('let i = 1;', 'let i = 0;');

describe('the agent loop with the scripted net sidecar', () => {
  test('verified after a retry: the second attempt gets the failure output and passes', async () => {
    const world = makeWorld();
    const report = await runModel(world, scripted(world, [...demoModelScript.turns]), 2);
    expect({
      verdict: report.verdict,
      exitCode: report.exitCode,
      candidate: report.candidate,
      outcomes: report.attempts.map((a) => [a.outcome, a.reason, a.verify?.exitCode]),
      files: report.patch?.files,
    }).toEqual({
      verdict: 'verified',
      exitCode: 0,
      candidate: 'model',
      outcomes: [
        ['failed', 'verifyFailed: verify exited with 1', 1],
        ['passed', null, 0],
      ],
      files: [{ path: 'src/stats.js', status: 'modified' }],
    });
    const events = eventsOf(report.log.path);
    const claims = events.flatMap((e) => (e.kind === 'modelClaimedDone' ? [e.text] : []));
    expect(claims).toEqual([
      'Done: the loop now starts at 0, so all tests pass.',
      'submit: mean() now averages every value; all tests pass.',
      'submit: mean() averages every value and returns 0 for [].',
    ]);
    const charged = events.filter((e) => e.kind === 'usageCharged');
    // One charge per completion (6 turns) and one per tool result (4 results before the submits).
    expect(charged).toHaveLength(10);
    expect(events.map((e) => e.kind).filter((k) => k !== 'usageCharged' && k !== 'modelClaimedDone')).toEqual([
      'taskCreated',
      'attemptStarted',
      'patchDerived',
      'verifyStarted',
      'verifyFinished',
      'attemptStarted',
      'patchDerived',
      'verifyStarted',
      'verifyFinished',
    ]);
  });

  test('rejected when the attempts budget runs out: two wrong fixes, two failed verify runs', async () => {
    const world = makeWorld();
    const wrongAttempt = (n: number) => [
      { content: 'fixing', toolCalls: [call(`w${n}`, 'write_file', { path: 'src/stats.js', content: wrongFix })] },
      {
        expect: { role: 'tool', contains: 'wrote' },
        content: 'tests pass',
        toolCalls: [call(`s${n}`, 'submit', { summary: 'done' })],
      },
    ];
    const report = await runModel(world, scripted(world, [...wrongAttempt(1), ...wrongAttempt(2)]), 2);
    expect({
      verdict: report.verdict,
      exitCode: report.exitCode,
      outcomes: report.attempts.map((a) => a.outcome),
      patch: report.patch,
    }).toEqual({
      verdict: 'rejected',
      exitCode: 1,
      outcomes: ['failed', 'failed'],
      patch: null,
    });
  });

  test('the turns budget ends an attempt that does not submit in time', async () => {
    const world = makeWorld();
    const read = (id: string) => ({ content: 'reading', toolCalls: [call(id, 'read_file', { path: 'src/stats.js' })] });
    const report = await runModel(world, scripted(world, [read('r1'), read('r2'), read('r3')], 2), 1);
    expect({ verdict: report.verdict, reasons: report.attempts.map((a) => a.reason) }).toEqual({
      verdict: 'rejected',
      reasons: ['attemptFailed: turnsExhausted: the model used its 2 turns without submitting'],
    });
  });

  test('a model that never submits only talks: its claims are logged as advisory and nothing is verified', async () => {
    const world = makeWorld();
    const talk = { content: 'I am done, all tests pass.' };
    const report = await runModel(world, scripted(world, [talk, talk, talk], 3), 1);
    expect({ verdict: report.verdict, reasons: report.attempts.map((a) => a.reason) }).toEqual({
      verdict: 'rejected',
      reasons: ['attemptFailed: turnsExhausted: the model used its 3 turns without submitting'],
    });
    const events = eventsOf(report.log.path);
    expect(events.filter((e) => e.kind === 'modelClaimedDone')).toHaveLength(3);
    expect(events.some((e) => e.kind === 'verifyStarted' || e.kind === 'patchDerived')).toBe(false);
  });

  test("a script that runs out fails the attempt with the sidecar's reason", async () => {
    const world = makeWorld();
    const report = await runModel(world, scripted(world, [{ content: 'thinking' }]), 1);
    expect(report.attempts.map((a) => a.reason)).toEqual([
      "attemptFailed: modelFailed: net/complete failed in sidecar 'net': sidecarFailure: the model script has 1 turns and all were played",
    ]);
  });
});

const crashingSidecar = String.raw`
let buffer = Buffer.alloc(0);
const send = (m) => { const b = Buffer.from(JSON.stringify(m)); process.stdout.write('Content-Length: ' + b.length + '\r\n\r\n'); process.stdout.write(b); };
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    const m = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString());
    buffer = buffer.subarray(end + 4 + length);
    if (m.method === 'initialize') send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '1.0.0', serverInfo: { name: 'rec', version: '0' }, capabilities: { methods: ['$/ping', 'net/complete'] } } });
    else if (m.method === '$/ping' || m.method === 'shutdown') send({ jsonrpc: '2.0', id: m.id, result: null });
    else if (m.method === 'net/complete') {
      require('node:fs').appendFileSync(process.argv[2], JSON.stringify({ apiKey: m.params.apiKey ?? null, env: process.env, argv: process.argv }) + '\n');
      if (process.argv[3] === 'crash') { process.stderr.write('recorder: crashing\n'); process.exit(9); }
      send({ jsonrpc: '2.0', id: m.id, result: { message: { role: 'assistant', content: 'no tools today' }, usage: { inputTokens: 5, outputTokens: 5 }, finishReason: 'stop' } });
    }
  }
});
process.stdin.on('end', () => process.exit(0));
`;

describe('the agent loop with a misbehaving or recording sidecar', () => {
  test('a sidecar crash mid-call becomes attemptFailed sidecarExited on each attempt; the task ends, never hangs', async () => {
    const world = makeWorld();
    const program = join(world.root, 'recorder.cjs');
    writeFileSync(program, crashingSidecar);
    const record = join(world.root, 'calls.jsonl');
    const candidate: ModelCandidate = {
      label: 'test:crash',
      provider: 'mock',
      model: 'crash',
      turnsMax: 3,
      sidecar: { name: 'net', command: process.execPath, args: [program, record, 'crash'] },
      netProviders: null,
      keySecret: null,
      secret: () => null,
    };
    const report = await runModel(world, candidate, 2);
    expect({
      verdict: report.verdict,
      codes: report.attempts.map((a) => a.reason?.split(':').slice(0, 2).join(':')),
    }).toEqual({
      verdict: 'rejected',
      codes: ['attemptFailed: sidecarExited', 'attemptFailed: sidecarExited'],
    });
    expect(report.attempts[0]?.reason).toContain('recorder: crashing');
  });

  test('a provider key travels only in net/complete params: not in the sidecar env, argv, the log or the report', async () => {
    const world = makeWorld();
    const program = join(world.root, 'recorder.cjs');
    writeFileSync(program, crashingSidecar);
    const record = join(world.root, 'calls.jsonl');
    const key = 'sk-e2e-agent-7d1f3b9a5c2e4f6a8b0c1d3e';
    const config = join(world.root, 'config.json');
    writeFileSync(config, JSON.stringify({ sidecars: { net: { command: [process.execPath, program, record] } } }));
    const repo = makeRepo(world, demoRepoFiles);
    const io = memoryIo({ ...world.env, CRUSTCORE_CONFIG: config, OPENAI_API_KEY: key });
    const code = await runCli(
      [
        'run',
        '--dir',
        repo.dir,
        '--verify',
        demoVerifyCommand,
        '--model',
        'openai:gpt-test',
        '--turns',
        '2',
        '--attempts',
        '1',
        '--json',
      ],
      io,
    );
    const report = JSON.parse(io.out()) as Omit<RunReport, 'patchText'>;
    expect({ code, verdict: report.verdict, reasons: report.attempts.map((a) => a.reason) }).toEqual({
      code: 1,
      verdict: 'rejected',
      reasons: ['attemptFailed: turnsExhausted: the model used its 2 turns without submitting'],
    });
    const calls = readFileSync(record, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { apiKey: string | null; env: Record<string, string>; argv: string[] });
    expect(calls.map((c) => c.apiKey)).toEqual([key, key]);
    for (const recorded of calls) {
      expect(JSON.stringify(recorded.env)).not.toContain(key);
      expect(recorded.argv.join(' ')).not.toContain(key);
    }
    expect(readFileSync(report.log.path, 'utf8')).not.toContain(key);
    expect(io.out() + io.err()).not.toContain(key);
  });
});
