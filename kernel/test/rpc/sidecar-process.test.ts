/**
 * The kernel's RPC client against a real child process that misbehaves on request. Invariants:
 * every failure reaches the caller as a typed RpcError, a broken peer loses its connection, an
 * exit mid-call rejects every pending call with `sidecarExited`, and stderr stays bounded.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { ParamsOf } from '@crustcore/protocol';
import { RpcError } from '../../src/rpc/rpc-error.js';
import type { RpcLimits } from '../../src/rpc/rpc-limits.js';
import type { SidecarSession } from '../../src/rpc/sidecar-process.js';
import { startSidecar } from '../../src/rpc/sidecar-process.js';

const script = join(import.meta.dirname, 'fixtures', 'scripted-sidecar.mjs');
const sessions: SidecarSession[] = [];

async function start(limits: Partial<RpcLimits> = {}, args: readonly string[] = []): Promise<SidecarSession> {
  const session = await startSidecar(
    { name: 'scripted', command: process.execPath, args: [script, ...args] },
    { limits },
  );
  sessions.push(session);
  return session;
}

function ask(text: string): ParamsOf<'net/complete'> {
  return { provider: 'mock', model: 'scripted', messages: [{ role: 'user', content: text }] };
}

async function failure(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

afterEach(() => {
  for (const session of sessions.splice(0)) session.kill();
});

describe('a healthy sidecar', () => {
  test('handshake records version, identity and offered methods', async () => {
    const session = await start();
    expect({
      protocolVersion: session.protocolVersion,
      serverInfo: session.serverInfo,
      offered: [...session.offeredMethods],
    }).toEqual({
      protocolVersion: '1.0.0',
      serverInfo: { name: 'scripted-sidecar', version: '0.0.1' },
      offered: ['net/complete', '$/ping', '$/cancelRequest'],
    });
  });

  test('a call returns the validated result, unicode intact', async () => {
    const session = await start();
    const text = 'Grüße 👋🏽 日本語 e\u0301 \u2028 "quotes" \\ \u0000';
    expect(await session.call('net/complete', ask(`echo:${text}`))).toEqual({
      message: { role: 'assistant', content: text },
      usage: { inputTokens: 3, outputTokens: 1 },
      finishReason: 'stop',
    });
  });

  test('progress reaches the caller in order before the result', async () => {
    const session = await start();
    const seen: unknown[] = [];
    const result = await session.call(
      'net/complete',
      { ...ask('progress'), stream: true, progressToken: 'call-1' },
      { onProgress: (value) => seen.push(value) },
    );
    expect({ seen, content: result.message.content }).toEqual({
      seen: [
        { kind: 'textDelta', text: 'a' },
        { kind: 'textDelta', text: 'b' },
        { kind: 'textDelta', text: 'c' },
      ],
      content: 'abc',
    });
  });

  test('the sidecar may ping the kernel, which answers null', async () => {
    const session = await start();
    const result = await session.call('net/complete', ask('ping-kernel'));
    expect(JSON.parse(result.message.content)).toEqual({ jsonrpc: '2.0', id: 'sidecar-ping', result: null });
  });

  test('shutdown ends the process cleanly and later calls are refused', async () => {
    const session = await start();
    expect(await session.shutdown()).toEqual({ exitCode: 0, signal: null });
    const error = await failure(session.call('net/complete', ask('echo:late')));
    expect([error.code, error.method]).toEqual(['connectionClosed', 'net/complete']);
  });
});

describe('calls that fail without harming the connection', () => {
  test('an invalid result is refused as invalidResult', async () => {
    const session = await start();
    const error = await failure(session.call('net/complete', ask('invalid-result')));
    expect([error.code, error.message]).toEqual([
      'invalidResult',
      "sidecar 'scripted' sent an invalid net/complete result: message.role: Invalid input",
    ]);
    expect((await session.call('net/complete', ask('echo:still here'))).message.content).toBe('still here');
  });

  test('a remote error keeps its code and becomes one line', async () => {
    const session = await start();
    const error = await failure(session.call('net/complete', ask('remote-error')));
    expect({ code: error.code, message: error.message, remote: error.remote }).toEqual({
      code: 'remoteError',
      message: "net/complete failed in sidecar 'scripted': sidecarFailure: upstream returned 500 retry later",
      remote: { code: -32013, message: 'upstream returned 500\nretry later' },
    });
  });

  test('a timeout cancels the call, and the late cancellation answer is dropped quietly', async () => {
    const session = await start();
    const error = await failure(session.call('net/complete', ask('hang'), { timeoutMs: 50 }));
    expect([error.code, error.message]).toEqual([
      'timeout',
      "net/complete got no answer from sidecar 'scripted' within 50 ms; cancelled it",
    ]);
    expect((await session.call('net/complete', ask('echo:after timeout'))).message.content).toBe('after timeout');
    expect(session.connection.closedReason).toBeNull();
  });

  test('aborting a call sends $/cancelRequest and rejects with cancelled', async () => {
    const session = await start();
    const controller = new AbortController();
    const call = session.call('net/complete', ask('hang'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect((await failure(call)).code).toBe('cancelled');
    expect((await session.call('net/complete', ask('echo:after cancel'))).message.content).toBe('after cancel');
  });

  test('invalid params are refused before anything is sent', async () => {
    const session = await start();
    const error = await failure(session.call('net/complete', { provider: 'mock', model: 'm', messages: [] }));
    expect(error.code).toBe('invalidParams');
    expect(session.connection.pendingCalls).toBe(0);
  });

  test('a request over messageBytesMax is refused, not split', async () => {
    const session = await start({ messageBytesMax: 4096 });
    const error = await failure(session.call('net/complete', ask(`echo:${'x'.repeat(5000)}`)));
    expect(error.code).toBe('requestTooLarge');
    expect((await session.call('net/complete', ask('echo:small'))).message.content).toBe('small');
  });

  test('a method the sidecar did not offer is refused locally', async () => {
    const session = await start();
    const error = await failure(session.call('net/embed', { provider: 'mock', model: 'm', inputs: ['a'] }));
    expect([error.code, error.message]).toEqual([
      'methodNotOffered',
      "sidecar 'scripted' did not offer net/embed in initialize",
    ]);
  });
});

describe('peers that lose their connection', () => {
  test('an exit mid-call rejects every pending call with sidecarExited and keeps stderr', async () => {
    const session = await start();
    const hanging = failure(session.call('net/complete', ask('hang')));
    const exiting = failure(session.call('net/complete', ask('exit')));
    const [first, second] = await Promise.all([hanging, exiting]);
    expect([first.code, second.code]).toEqual(['sidecarExited', 'sidecarExited']);
    expect(second.message).toBe("net/complete: sidecar 'scripted' exited with code 3; see its stderr, then restart it");
    expect(second.details).toEqual({ exitCode: 3, signal: null, stderrTail: 'fatal: provider exploded\n' });
  });

  test('a response to an unknown id is a protocol violation', async () => {
    const session = await start();
    const error = await failure(session.call('net/complete', ask('unknown-id')));
    expect(error.code).toBe('protocolViolation');
    expect(error.message).toMatch(/answered request id \d+, which is not pending; connection closed$/);
  });

  test('junk on stdout is a protocol violation, never skipped', async () => {
    const session = await start();
    const error = await failure(session.call('net/complete', ask('junk')));
    expect([error.code, error.message]).toEqual([
      'protocolViolation',
      "net/complete: sidecar 'scripted' sent a bad frame (malformedHeader): header lines must end with CRLF, and CR may appear only before LF; connection closed",
    ]);
  });

  test('an oversize message closes the connection before its body is read', async () => {
    const session = await start({ messageBytesMax: 1024 });
    const error = await failure(session.call('net/complete', ask('oversize:5000')));
    expect([error.code, error.message]).toEqual([
      'protocolViolation',
      "net/complete: sidecar 'scripted' sent a bad frame (messageTooLarge): message of 5000 bytes is over messageBytesMax (1024); connection closed",
    ]);
  });

  test('a notification the sidecar may not send is a protocol violation', async () => {
    const session = await start();
    const error = await failure(session.call('net/complete', ask('bad-notification')));
    expect(error.code).toBe('protocolViolation');
  });
});

describe('process handling', () => {
  test('stderr is kept bounded to the most recent bytes', async () => {
    const session = await start({ stderrBytesMax: 1024 });
    await session.call('net/complete', ask('stderr:100000'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const tail = session.stderrTail();
    expect(tail.length).toBe(1024);
    expect(tail.endsWith('END-OF-STDERR')).toBe(true);
  });

  test('a major version mismatch is refused with both versions named, and the process is killed', async () => {
    const error = await failure(start({}, ['--version', '2.0.0']));
    expect([error.code, error.message]).toEqual([
      'versionMismatch',
      'sidecar \'scripted\' refused: incompatible protocol versions: ours is "1.0.0", the peer\'s is "2.0.0"; upgrade the older side to the same major version',
    ]);
  });

  test('a command that does not exist fails as spawnFailed', async () => {
    const error = await failure(startSidecar({ name: 'ghost', command: 'crustcore-no-such-sidecar', args: [] }));
    expect(error.code).toBe('spawnFailed');
    expect(error.message).toMatch(
      /^initialize: could not start sidecar 'ghost' \(crustcore-no-such-sidecar\): spawn .*ENOENT$/,
    );
  });
});
