/**
 * Parity: the kernel's codec and vscode-jsonrpc speak the same wire. Both directions run over real
 * child-process pipes: the kernel codec as client of a vscode-jsonrpc sidecar, and vscode-jsonrpc
 * as client of a sidecar served by the kernel codec. Covered: requests each way, notifications,
 * cancellation, messages near the size cap and past it, and unicode.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { afterEach, describe, expect, test } from 'vitest';
import { Limits } from '@crustcore/protocol';
import type { ParamsOf } from '@crustcore/protocol';
import { RpcError } from '../../kernel/src/rpc/rpc-error.js';
import type { SidecarSession } from '../../kernel/src/rpc/sidecar-process.js';
import { startSidecar } from '../../kernel/src/rpc/sidecar-process.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const unicode = 'Grüße 👋🏽 日本語 עברית e\u0301 \u2028\u2029 "\\" \u0000 \ud7ff\ue000 𝕏';
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function ask(...contents: string[]): ParamsOf<'net/complete'> {
  return { provider: 'mock', model: 'parity', messages: contents.map((content) => ({ role: 'user', content })) };
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

describe('kernel codec → vscode-jsonrpc sidecar', () => {
  async function start(): Promise<SidecarSession> {
    const session = await startSidecar({
      name: 'vscode',
      command: process.execPath,
      args: [join(fixtures, 'vscode-sidecar.mjs')],
    });
    cleanups.push(() => session.kill());
    return session;
  }

  test('handshake and a unicode round trip', async () => {
    const session = await start();
    expect(session.serverInfo).toEqual({ name: 'vscode-sidecar', version: '10.0.0' });
    expect(await session.call('net/complete', ask(`echo:${unicode}`))).toEqual({
      message: { role: 'assistant', content: unicode },
      usage: { inputTokens: 1, outputTokens: 1 },
      finishReason: 'stop',
    });
  });

  test('progress notifications from vscode-jsonrpc reach the caller in order', async () => {
    const session = await start();
    const seen: string[] = [];
    await session.call(
      'net/complete',
      { ...ask('progress'), stream: true, progressToken: 'p-1' },
      { onProgress: (value) => seen.push(value.kind === 'textDelta' ? value.text : value.message) },
    );
    expect(seen).toEqual(['Grüße ', '👋🏽 ', '日本語']);
  });

  test('cancellation reaches the vscode-jsonrpc handler, and its late answer is dropped', async () => {
    const session = await start();
    const controller = new AbortController();
    const call = session.call('net/complete', ask('hang'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    expect((await failure(call)).code).toBe('cancelled');
    expect((await session.call('net/complete', ask('cancelled-count'))).message.content).toBe('1');
    expect(session.connection.closedReason).toBeNull();
  });

  test('vscode-jsonrpc calls the kernel: $/ping is answered, other methods get methodNotFound', async () => {
    const session = await start();
    const result = await session.call('net/complete', ask('call-kernel'));
    expect(JSON.parse(result.message.content)).toEqual({ ping: null, unknown: -32601 });
  });

  test('a request near the cap goes through', async () => {
    const session = await start();
    const chunk = 'x'.repeat(Limits.textLengthMax - 16);
    const result = await session.call('net/complete', ask(chunk, chunk.slice(0, 7_000_000), 'size'));
    expect(result.message.content).toBe(String(chunk.length + 7_000_000 + 4));
  });

  test('a response near the cap is accepted; one past it closes the connection', async () => {
    const session = await start();
    const overhead = 200;
    const nearCap = (Limits.messageBytesMax - overhead) / 2;
    expect((await session.call('net/complete', ask(`big:${nearCap}`))).message.content.length).toBe(nearCap);
    const error = await failure(session.call('net/complete', ask(`big:${Limits.messageBytesMax / 2}`)));
    expect(error.code).toBe('protocolViolation');
    expect(error.message).toMatch(
      /^net\/complete: sidecar 'vscode' sent a bad frame \(messageTooLarge\): message of \d+ bytes is over messageBytesMax \(16777216\); connection closed$/,
    );
  });
});

describe('vscode-jsonrpc client → kernel-codec sidecar', () => {
  function start(): { connection: MessageConnection; child: ChildProcessWithoutNullStreams } {
    const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, 'kernel-codec-sidecar.ts')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    connection.listen();
    cleanups.push(() => {
      connection.dispose();
      child.kill('SIGKILL');
    });
    return { connection, child };
  }

  async function remoteCode(promise: Promise<unknown>): Promise<number> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof ResponseError) return error.code;
      throw error;
    }
    throw new Error('expected an error response');
  }

  test('initialize, a unicode round trip and a progress notification', async () => {
    const { connection } = start();
    const progress: unknown[] = [];
    connection.onNotification('$/progress', (params: unknown) => {
      progress.push(params);
    });
    expect(
      await connection.sendRequest('initialize', {
        protocolVersion: '1.0.0',
        clientInfo: { name: 'vscode-client', version: '10.0.0' },
        capabilities: { methods: ['$/ping'] },
      }),
    ).toEqual({
      protocolVersion: '1.0.0',
      serverInfo: { name: 'kernel-codec-sidecar', version: '0.1.0' },
      capabilities: { methods: ['net/complete', '$/ping', '$/cancelRequest'] },
    });
    const result: unknown = await connection.sendRequest('net/complete', { ...ask(unicode), progressToken: 0 });
    expect(result).toEqual({
      message: { role: 'assistant', content: unicode },
      usage: { inputTokens: unicode.length, outputTokens: unicode.length },
      finishReason: 'stop',
    });
    expect(progress).toEqual([{ token: 0, value: { kind: 'textDelta', text: unicode } }]);
    expect(await connection.sendRequest('$/ping')).toBeNull();
  });

  test('cancellation from vscode-jsonrpc aborts the handler and answers requestCancelled', async () => {
    const { connection } = start();
    const source = new CancellationTokenSource();
    const call = connection.sendRequest('net/complete', ask('hang'), source.token);
    setTimeout(() => source.cancel(), 30);
    expect(await remoteCode(call)).toBe(-32800);
  });

  test('invalid params and unknown methods get the standard codes', async () => {
    const { connection } = start();
    expect(await remoteCode(connection.sendRequest('net/complete', { provider: 'mock' }))).toBe(-32602);
    expect(await remoteCode(connection.sendRequest('index/search', { query: 'x' }))).toBe(-32601);
    expect(await remoteCode(connection.sendRequest('toString', {}))).toBe(-32601);
  });

  test('a request near the cap is served; one past it makes the kernel codec close the connection', async () => {
    const { connection, child } = start();
    const chunk = 'y'.repeat(Limits.textLengthMax - 16);
    const near: { message: { content: string } } = await connection.sendRequest(
      'net/complete',
      ask(chunk, chunk.slice(0, 7_000_000), 'ok'),
    );
    expect(near.message.content).toBe('ok');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    void connection.sendRequest('net/complete', ask(chunk, chunk, 'too big')).catch(() => undefined);
    expect(await exited).toBe(2);
    expect(stderr).toMatch(
      /^closed: protocolViolation: the client sent a bad frame \(messageTooLarge\): message of \d+ bytes is over messageBytesMax \(16777216\); connection closed\n$/,
    );
  });
});
