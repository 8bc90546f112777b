/**
 * Two RpcConnections, one per role, over a pair of in-memory pipes: the serving side of the codec
 * (handlers, cancellation of incoming requests, error mapping, direction rules) and close semantics.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '@crustcore/protocol';
import type { ParamsOf } from '@crustcore/protocol';
import { RpcConnection } from '../../src/rpc/rpc-connection.js';
import { ResponseError, RpcError } from '../../src/rpc/rpc-error.js';

function pair(): { kernel: RpcConnection; sidecar: RpcConnection } {
  const toSidecar = new PassThrough();
  const toKernel = new PassThrough();
  const kernel = new RpcConnection({ input: toKernel, output: toSidecar, peerName: 'sidecar' });
  const sidecar = new RpcConnection({ input: toSidecar, output: toKernel, role: 'sidecar', peerName: 'kernel' });
  return { kernel, sidecar };
}

const ask: ParamsOf<'net/complete'> = { provider: 'mock', model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const answer = {
  message: { role: 'assistant' as const, content: 'hello' },
  usage: { inputTokens: 1, outputTokens: 1 },
  finishReason: 'stop' as const,
};

async function failure(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('serving requests', () => {
  test('a handler receives validated params and its result is returned', async () => {
    const { kernel, sidecar } = pair();
    const seen: unknown[] = [];
    sidecar.onRequest('net/complete', (params) => {
      seen.push(params);
      return answer;
    });
    expect(await kernel.request('net/complete', ask)).toEqual(answer);
    expect(seen).toEqual([ask]);
  });

  test('a method without a handler answers methodNotFound', async () => {
    const { kernel } = pair();
    const error = await failure(kernel.request('net/embed', { provider: 'p', model: 'm', inputs: ['x'] }));
    expect([error.code, error.remote]).toEqual([
      'remoteError',
      { code: ErrorCode.methodNotFound, message: 'method "net/embed" is not handled here' },
    ]);
  });

  test('a ResponseError keeps its code; any other throw becomes internalError without details', async () => {
    const { kernel, sidecar } = pair();
    let thrown: Error = new ResponseError(ErrorCode.sidecarFailure, 'provider down', { status: 503 });
    sidecar.onRequest('net/complete', () => {
      throw thrown;
    });
    expect((await failure(kernel.request('net/complete', ask))).remote).toEqual({
      code: ErrorCode.sidecarFailure,
      message: 'provider down',
      data: { status: 503 },
    });
    thrown = new Error('secret path /home/user/.ssh');
    expect((await failure(kernel.request('net/complete', ask))).remote).toEqual({
      code: ErrorCode.internalError,
      message: 'net/complete failed inside the handler',
    });
  });

  test('a handler result that fails the schema is never sent', async () => {
    const { kernel, sidecar } = pair();
    sidecar.onRequest('net/complete', () => ({ ...answer, finishReason: 'done' }) as unknown as typeof answer);
    expect((await failure(kernel.request('net/complete', ask))).remote?.code).toBe(ErrorCode.internalError);
  });

  test('$/cancelRequest aborts the handler and the answer is requestCancelled', async () => {
    const { kernel, sidecar } = pair();
    let aborted = false;
    sidecar.onRequest(
      'net/complete',
      (_params, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve(answer);
          });
        }),
    );
    const controller = new AbortController();
    const call = kernel.request('net/complete', ask, { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    expect((await failure(call)).code).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(aborted).toBe(true);
    expect(kernel.closedReason).toBeNull();
  });

  test('handlers can only be registered for methods this role receives', () => {
    const { kernel, sidecar } = pair();
    expect(() => kernel.onRequest('net/complete', () => answer)).toThrow('net/complete is never sent to a kernel');
    expect(() => sidecar.onRequest('$/ping', () => null)).not.toThrow();
  });
});

describe('directions and closing', () => {
  test('a sidecar cannot call kernel-to-sidecar methods, and the kernel cannot send $/progress', async () => {
    const { kernel, sidecar } = pair();
    expect((await failure(sidecar.request('net/complete', ask))).code).toBe('methodNotOffered');
    expect(kernel.notify('$/progress', { token: 1, value: { kind: 'status', message: 'x' } })).toBe(false);
    expect(sidecar.notify('$/progress', { token: 1, value: { kind: 'status', message: 'x' } })).toBe(true);
  });

  test('close rejects pending calls with the reason, tells listeners once, and refuses new calls', async () => {
    const { kernel, sidecar } = pair();
    sidecar.onRequest('net/complete', () => new Promise(() => undefined));
    const reasons: string[] = [];
    kernel.onClose((reason) => reasons.push(reason.code));
    const call = failure(kernel.request('net/complete', ask));
    await new Promise((resolve) => setTimeout(resolve, 10));
    kernel.close(new RpcError('sidecarExited', 'gone'));
    kernel.close();
    const error = await call;
    expect([error.code, error.message, error.method]).toEqual(['sidecarExited', 'net/complete: gone', 'net/complete']);
    expect(reasons).toEqual(['sidecarExited']);
    expect((await failure(kernel.request('$/ping', undefined))).code).toBe('sidecarExited');
  });

  test('too many pending calls are refused locally', async () => {
    const toSidecar = new PassThrough();
    const kernel = new RpcConnection({ input: new PassThrough(), output: toSidecar, limits: { pendingCallsMax: 2 } });
    void kernel.request('$/ping', undefined).catch(() => undefined);
    void kernel.request('$/ping', undefined).catch(() => undefined);
    expect((await failure(kernel.request('$/ping', undefined))).code).toBe('tooManyPendingCalls');
    kernel.close();
  });

  test('the peer ending its output closes the connection when no owner takes over', async () => {
    const toKernel = new PassThrough();
    const kernel = new RpcConnection({ input: toKernel, output: new PassThrough() });
    const call = failure(kernel.request('$/ping', undefined));
    toKernel.end();
    expect((await call).code).toBe('connectionClosed');
  });
});
