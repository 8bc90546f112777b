/**
 * The sidecar supervisor against real child processes. Invariants: a sidecar that dies during a
 * call turns the call into a typed `sidecarExited` error (with its stderr tail) and is restarted;
 * one that stops answering heartbeats is killed (its pending call fails, never hangs) and
 * restarted; repeated crashes open the breaker so calls fail fast; and a spawned sidecar's
 * environment and argv hold no secret from the kernel's environment.
 *
 * Method: small fake sidecars (plain Node scripts written to a temp dir) that speak the framing
 * and misbehave on purpose, and the real net sidecar bundle for the environment check.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { inheritedEnvironment } from '../../src/rpc/index.js';
import {
  bundledNetSidecarPath,
  sidecarCommandFor,
  SidecarSupervisor,
  SupervisorError,
  type SupervisorEvent,
} from '../../src/host/sidecar-supervisor.js';
import { fakeSidecarFraming } from './fake-sidecar-source.js';

const fakeSource =
  String.raw`
const { existsSync, writeFileSync } = require('node:fs');
const mode = process.argv[2];
const marker = process.argv[3];
function handle(message) {
  if (message.method === 'initialize') {
    send({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '1.0.0', serverInfo: { name: 'fake', version: '0' }, capabilities: { methods: ['$/ping', 'net/complete'] } } });
    return;
  }
  if (mode === 'hang') return;
  if (message.method === '$/ping' || message.method === 'shutdown') return send({ jsonrpc: '2.0', id: message.id, result: null });
  if (message.method === 'net/complete') {
    if (mode === 'crash' || (mode === 'crash-once' && !existsSync(marker))) {
      if (mode === 'crash-once') writeFileSync(marker, 'crashed');
      process.stderr.write('fake: crashing in the middle of a call\n');
      process.exit(3);
    }
    send({ jsonrpc: '2.0', id: message.id, result: { message: { role: 'assistant', content: 'ok from ' + process.pid }, usage: { inputTokens: 1, outputTokens: 1 }, finishReason: 'stop' } });
  }
}
process.stdin.on('end', () => process.exit(0));
` + fakeSidecarFraming;

const completeParams = { provider: 'mock', model: 'fake', messages: [{ role: 'user' as const, content: 'hello' }] };

let dir = '';
let fake = '';
const supervisors: SidecarSupervisor[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crustcore-supervisor-'));
  fake = join(dir, 'fake-sidecar.cjs');
  writeFileSync(fake, fakeSource);
});

afterEach(() => {
  for (const supervisor of supervisors.splice(0)) supervisor.dispose();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function supervise(mode: string, timing: ConstructorParameters<typeof SidecarSupervisor>[0]['timing'] = {}) {
  const events: SupervisorEvent[] = [];
  const supervisor = new SidecarSupervisor({
    command: {
      name: 'fake',
      command: process.execPath,
      args: [fake, mode, join(dir, `marker-${mode}-${supervisors.length}`)],
    },
    onEvent: (event) => events.push(event),
    timing: { restartDelayMs: 10, ...timing },
  });
  supervisors.push(supervisor);
  return { supervisor, events };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function failureOf(promise: Promise<unknown>): Promise<SupervisorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SupervisorError) return error;
    throw error;
  }
  throw new Error('the call did not fail');
}

describe('SidecarSupervisor with real processes', () => {
  test('a crash in the middle of a call is a typed error; the sidecar is restarted and the next call works', async () => {
    const { supervisor, events } = supervise('crash-once');
    await supervisor.start();
    const firstPid = supervisor.pid;
    const error = await failureOf(supervisor.call('net/complete', completeParams));
    expect({ code: error.code, tail: error.stderrTail.trim() }).toEqual({
      code: 'sidecarExited',
      tail: 'fake: crashing in the middle of a call',
    });
    expect(error.message).toMatch(/^net\/complete: sidecar 'fake' exited with code 3; /);
    const result = await supervisor.call('net/complete', completeParams);
    expect(supervisor.pid).not.toBe(firstPid);
    expect(result).toEqual({
      message: { role: 'assistant', content: `ok from ${String(supervisor.pid)}` },
      usage: { inputTokens: 1, outputTokens: 1 },
      finishReason: 'stop',
    });
    expect(events.map((event) => event.kind)).toEqual(['started', 'failed', 'started']);
    expect(supervisor.starts).toBe(2);
  });

  test('a sidecar that stops answering pings is killed (its call fails) and restarted', async () => {
    const { supervisor, events } = supervise('hang', { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 150 });
    await supervisor.start();
    const firstPid = supervisor.pid;
    const error = await failureOf(supervisor.call('net/complete', completeParams, { timeoutMs: 60_000 }));
    expect(error.code).toBe('sidecarExited');
    await until(() => supervisor.pid !== undefined && supervisor.pid !== firstPid, 'a restarted sidecar');
    expect(events.slice(0, 4).map((event) => event.kind)).toEqual(['started', 'heartbeatMissed', 'failed', 'started']);
    expect(() => process.kill(firstPid ?? 0, 0)).toThrow();
  });

  test('repeated crashes open the breaker; calls then fail fast without starting a process', async () => {
    const { supervisor, events } = supervise('crash', { breakerFailuresMax: 3, breakerOpenMs: 60_000 });
    const codes: string[] = [];
    for (let call = 0; call < 5; call++)
      codes.push((await failureOf(supervisor.call('net/complete', completeParams))).code);
    expect(codes).toEqual(['sidecarExited', 'sidecarExited', 'sidecarExited', 'circuitOpen', 'circuitOpen']);
    expect(supervisor.starts).toBe(3);
    expect(supervisor.circuitOpen).toBe(true);
    expect(events.filter((event) => event.kind === 'circuitOpened')).toHaveLength(1);
  });

  test('a per-call timeout fails the call with a typed error and leaves the sidecar running', async () => {
    const { supervisor } = supervise('hang', { heartbeatIntervalMs: 60_000 });
    await supervisor.start();
    const pid = supervisor.pid;
    const error = await failureOf(supervisor.call('net/complete', completeParams, { timeoutMs: 100 }));
    expect(error.code).toBe('timeout');
    expect(supervisor.pid).toBe(pid);
  });

  test('a sidecar that cannot start is startFailed, and the breaker counts it', async () => {
    const supervisor = new SidecarSupervisor({
      command: { name: 'missing', command: join(dir, 'no-such-program'), args: [] },
      timing: { restartDelayMs: 1, breakerFailuresMax: 2 },
    });
    supervisors.push(supervisor);
    const codes = [];
    for (let call = 0; call < 3; call++)
      codes.push((await failureOf(supervisor.call('net/complete', completeParams))).code);
    expect(codes).toEqual(['startFailed', 'startFailed', 'circuitOpen']);
  });
});

describe('the net sidecar under supervision', () => {
  test('the spawned sidecar sees no secret: its environment is the allow-list and its argv holds no key', async () => {
    const netPath = bundledNetSidecarPath();
    expect(existsSync(netPath)).toBe(true);
    const secretValue = 'sk-test-supervisor-3f9a1c7e5b2d4a6c8e0f';
    process.env['CRUSTCORE_TEST_PROVIDER_KEY'] = secretValue;
    try {
      const supervisor = new SidecarSupervisor({
        command: { name: 'net', command: process.execPath, args: [netPath] },
      });
      supervisors.push(supervisor);
      const result = await supervisor.call('net/complete', { ...completeParams, apiKey: secretValue });
      expect(result.message.content).toBe('Mock reply to user: hello');
      const pid = supervisor.pid ?? 0;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      const names = environ.map((entry) => entry.slice(0, entry.indexOf('=')));
      expect(names.every((name) => (inheritedEnvironment as readonly string[]).includes(name))).toBe(true);
      expect(environ.join('\n')).not.toContain(secretValue);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(secretValue);
      await supervisor.close();
    } finally {
      delete process.env['CRUSTCORE_TEST_PROVIDER_KEY'];
    }
  });

  test('the sidecar command: configured argv, else the bundled net sidecar, else a clear error', () => {
    const config = { path: '/config.json', sidecars: { net: ['/opt/net', '--flag'] } };
    expect(sidecarCommandFor('net', config)).toEqual({
      ok: true,
      command: { name: 'net', command: '/opt/net', args: ['--flag'] },
      bundled: false,
    });
    const bundled = sidecarCommandFor('net', { path: null, sidecars: {} }, fake);
    expect(bundled).toEqual({
      ok: true,
      command: { name: 'net', command: process.execPath, args: [fake] },
      bundled: true,
    });
    const missing = join(dir, 'missing', 'main.js');
    expect(sidecarCommandFor('net', { path: null, sidecars: {} }, missing)).toEqual({
      ok: false,
      message: `the net sidecar bundle ${missing} is missing; run npm run build (or set sidecars.net.command in the config)`,
    });
    expect(sidecarCommandFor('index', { path: '/c.json', sidecars: {} })).toEqual({
      ok: false,
      message: "no command for sidecar 'index'; set sidecars.index.command in /c.json",
    });
  });
});
