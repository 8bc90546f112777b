/**
 * The whole net sidecar as a child process, spoken to over stdio by two clients: vscode-jsonrpc
 * (what third-party tools use) and the kernel's own codec (`kernel/src/rpc`, what CrustCore
 * uses). Covered: the handshake and version refusal, a streaming completion whose deltas arrive as
 * `$/progress`, cancellation mid-stream (the loopback provider sees its connection closed), an API
 * key that never reaches stderr or an error message, and a clean exit after shutdown.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { afterEach, describe, expect, test } from 'vitest';
import type { ParamsOf } from '@crustcore/protocol';
import { ErrorCode } from '@crustcore/protocol';
import { RpcError } from '../../../kernel/src/rpc/rpc-error.js';
import type { SidecarSession } from '../../../kernel/src/rpc/sidecar-process.js';
import { startSidecar } from '../../../kernel/src/rpc/sidecar-process.js';
import type { LoopbackServer } from './loopback-server.js';
import { pause, sendJson, startEvents, startLoopbackServer, writePieces } from './loopback-server.js';
import { fastLimits } from './test-config.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const mainFile = join(repoRoot, 'sidecars', 'net', 'src', 'main.ts');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function chunk(content: string, finish: string | null = null): string {
  return `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
}

/** A loopback provider: `stream` answers three deltas; `hang` sends one delta and then waits; `leak` fails echoing the key. */
async function provider(): Promise<LoopbackServer> {
  const server = await startLoopbackServer(async (request, response) => {
    const messages = (request.body as { messages: { content: string }[] }).messages;
    const last = messages[messages.length - 1]?.content ?? '';
    if (last === 'leak') {
      return sendJson(response, 401, {
        error: { message: `Incorrect API key provided: ${String(request.headers['authorization']).slice(7)}` },
      });
    }
    startEvents(response);
    if (last === 'hang') {
      await writePieces(response, [chunk('first ')]);
      return;
    }
    await writePieces(response, [chunk('Grüße '), chunk('👋🏽 '), chunk('日本語', 'stop'), 'data: [DONE]\n\n']);
    response.end();
  });
  cleanups.push(() => server.close());
  return server;
}

function configFile(origin: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'crustcore-net-config-'));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  const file = join(directory, 'net.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: { 'local-openai': { kind: 'openai-compatible', baseUrl: `${origin}/v1`, local: true } },
      limits: { ...fastLimits, bodyTimeoutMs: 30_000 },
    }),
  );
  return file;
}

function ask(content: string, extra: Partial<ParamsOf<'net/complete'>> = {}): ParamsOf<'net/complete'> {
  return { provider: 'local-openai', model: 'm', messages: [{ role: 'user', content }], ...extra };
}

const initializeParams = {
  protocolVersion: '1.0.0',
  clientInfo: { name: 'test', version: '0.0.0' },
  capabilities: { methods: ['$/ping', '$/progress', '$/cancelRequest'] },
};

describe('spoken to by vscode-jsonrpc', () => {
  test('handshake, version refusal, and a streamed completion with progress', async () => {
    const server = await provider();
    const child = spawn(process.execPath, ['--import', 'tsx', mainFile, '--config', configFile(server.origin)], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    cleanups.push(() => void child.kill('SIGKILL'));
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    const deltas: unknown[] = [];
    connection.onNotification('$/progress', (params: unknown) => {
      deltas.push(params);
    });
    connection.listen();

    const mismatch = await connection.sendRequest('initialize', { ...initializeParams, protocolVersion: '2.0.0' }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(mismatch).toBeInstanceOf(ResponseError);
    expect((mismatch as ResponseError<unknown>).code).toBe(ErrorCode.versionMismatch);
    expect((mismatch as ResponseError<unknown>).message).toContain('"1.0.0"');
    expect((mismatch as ResponseError<unknown>).message).toContain('"2.0.0"');

    expect(await connection.sendRequest('initialize', initializeParams)).toEqual({
      protocolVersion: '1.0.0',
      serverInfo: { name: 'crustcore-net', version: '0.1.0' },
      capabilities: { methods: ['net/complete', 'net/embed', 'net/rerank', '$/ping', '$/cancelRequest'] },
    });
    const result = await connection.sendRequest('net/complete', ask('hi', { stream: true, progressToken: 'tok-1' }));
    expect(result).toEqual({
      message: { role: 'assistant', content: 'Grüße 👋🏽 日本語' },
      usage: { inputTokens: 0, outputTokens: 0 },
      finishReason: 'stop',
    });
    expect(deltas).toEqual(
      ['Grüße ', '👋🏽 ', '日本語'].map((text) => ({ token: 'tok-1', value: { kind: 'textDelta', text } })),
    );
    expect(await connection.sendRequest('shutdown')).toBe(null);
    connection.dispose();
    child.stdin.end();
    expect(await exited).toBe(0);
  });
});

describe('spoken to by the kernel codec', () => {
  async function start(origin: string): Promise<SidecarSession> {
    const session = await startSidecar({
      name: 'net',
      command: process.execPath,
      args: ['--import', 'tsx', mainFile, '--config', configFile(origin)],
      cwd: repoRoot,
    });
    cleanups.push(() => session.kill());
    return session;
  }

  test('a streamed completion with progress, then a clean shutdown', async () => {
    const server = await provider();
    const session = await start(server.origin);
    expect(session.protocolVersion).toBe('1.0.0');
    expect([...session.offeredMethods]).toEqual([
      'net/complete',
      'net/embed',
      'net/rerank',
      '$/ping',
      '$/cancelRequest',
    ]);
    const seen: string[] = [];
    const result = await session.call('net/complete', ask('hi', { stream: true, progressToken: 7 }), {
      onProgress: (value) => seen.push(value.kind === 'textDelta' ? value.text : `status:${value.message}`),
    });
    expect(seen).toEqual(['Grüße ', '👋🏽 ', '日本語']);
    expect(result.message.content).toBe('Grüße 👋🏽 日本語');
    expect(await session.call('net/embed', { provider: 'mock', model: 'e', inputs: ['x'] })).toMatchObject({
      usage: { inputTokens: 1 },
    });
    expect(await session.shutdown()).toEqual({ exitCode: 0, signal: null });
  });

  test('cancellation mid-stream aborts the provider call: the provider sees its connection closed', async () => {
    const server = await provider();
    const session = await start(server.origin);
    const controller = new AbortController();
    const seen: string[] = [];
    const call = session.call('net/complete', ask('hang', { stream: true, progressToken: 'c' }), {
      signal: controller.signal,
      onProgress: (value) => {
        seen.push(value.kind === 'textDelta' ? value.text : value.message);
        controller.abort();
      },
    });
    const error = await call.then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe('cancelled');
    expect(seen).toEqual(['first ']);
    await server.clientClosedEarly;
    // The sidecar is still healthy after the cancelled call.
    expect(await session.call('$/ping', undefined)).toBe(null);
    expect(await session.shutdown()).toEqual({ exitCode: 0, signal: null });
  });

  test('an API key never reaches stderr or an error message', async () => {
    const server = await provider();
    const session = await start(server.origin);
    const key = 'sk-secret-3f9a7c1e0b';
    const failures = await Promise.all(
      [
        session.call('net/complete', ask('leak', { apiKey: key })),
        session.call(
          'net/complete',
          ask('x', { provider: 'openai', apiKey: key, baseUrl: `https://127.0.0.1/${key}` }),
        ),
        session.call('net/complete', ask('x', { provider: 'nope', apiKey: key })),
      ].map((call) =>
        call.then(
          () => null,
          (failure: unknown) => failure as RpcError,
        ),
      ),
    );
    expect(failures.map((failure) => failure?.remote?.code)).toEqual([
      ErrorCode.sidecarFailure,
      ErrorCode.invalidParams,
      ErrorCode.invalidParams,
    ]);
    expect(failures[0]?.remote?.message).toBe(
      "provider 'local-openai' answered HTTP 401: Incorrect API key provided: [REDACTED:apiKey]",
    );
    await session.shutdown();
    await pause(50);
    const stderr = session.stderrTail();
    expect(stderr).toContain('[REDACTED:apiKey]');
    for (const text of [
      stderr,
      ...failures.map((failure) => `${failure?.message} ${JSON.stringify(failure?.remote)}`),
    ]) {
      expect(text).not.toContain(key);
    }
  });
});
