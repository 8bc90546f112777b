import { ErrorCode, errorCodeName, negotiate, protocolVersion, validateParams } from '@crustcore/protocol';
import type { MethodName, ParamsOf, ResultOf } from '@crustcore/protocol';
import { ResponseError } from 'vscode-jsonrpc/node';
import type { CancellationToken, MessageConnection } from 'vscode-jsonrpc/node';
import { NetFailure, oneLine, redact } from './net-failure.js';
import type { NetService, ServiceCallOptions } from './net-service.js';
import { offeredMethods, serverInfo } from './server-info.js';

/** Where the server's connection is in its life. */
type Phase = 'awaitingInitialize' | 'ready' | 'shutDown';

const handled: ReadonlySet<string> = new Set(['initialize', 'shutdown', ...offeredMethods]);

function apiKeyOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const key = (params as { apiKey?: unknown }).apiKey;
  return typeof key === 'string' ? key : undefined;
}

function checked<M extends MethodName>(method: M, params: unknown): ParamsOf<M> {
  const result = validateParams(method, params);
  if (!result.ok) throw new NetFailure('invalidParams', result.message);
  return result.params;
}

/**
 * Serves the net methods on a vscode-jsonrpc connection: the handshake (a major version mismatch
 * is refused with `versionMismatch`), `shutdown`, `$/ping`, and `net/*` calls, each validated
 * with the protocol's schemas first. `$/cancelRequest` reaches a call through its cancellation
 * token and aborts the provider's HTTP request. Streamed text goes out as `$/progress` when the
 * call asked to stream and carries a `progressToken`. An API key never appears in an error
 * message or a log line.
 */
export class NetServer {
  readonly #connection: MessageConnection;
  readonly #service: NetService;
  readonly #log: (line: string) => void;
  #phase: Phase = 'awaitingInitialize';

  /** Registers the handlers on `connection`; call `connection.listen()` afterwards. */
  constructor(connection: MessageConnection, service: NetService, log: (line: string) => void) {
    this.#connection = connection;
    this.#service = service;
    this.#log = log;
    connection.onRequest(async (method: string, params: unknown, token: CancellationToken) => {
      try {
        return await this.#handle(method, params, token);
      } catch (error) {
        throw this.#wireError(method, error, apiKeyOf(params));
      }
    });
  }

  /** Whether `shutdown` was received. */
  get shutDown(): boolean {
    return this.#phase === 'shutDown';
  }

  async #handle(method: string, params: unknown, token: CancellationToken): Promise<unknown> {
    if (!handled.has(method)) {
      throw new ResponseError(
        ErrorCode.methodNotFound,
        `method ${JSON.stringify(oneLine(method, 64))} is not offered by the net sidecar`,
      );
    }
    if (method === '$/ping') {
      checked('$/ping', params);
      return null;
    }
    if (method === 'initialize') return this.#initialize(checked('initialize', params));
    if (this.#phase === 'awaitingInitialize') {
      throw new NetFailure('invalidState', `${method} before initialize; send initialize first`);
    }
    if (this.#phase === 'shutDown')
      throw new NetFailure('invalidState', `${method} after shutdown; start a new sidecar`);
    switch (method) {
      case 'shutdown':
        checked('shutdown', params);
        this.#phase = 'shutDown';
        return null;
      case 'net/complete': {
        const call = checked('net/complete', params);
        const streams = call.stream === true && call.progressToken !== undefined;
        return this.#service.complete(call, this.#options(token, call.progressToken, streams));
      }
      case 'net/embed':
        return this.#service.embed(checked('net/embed', params), this.#options(token, undefined, false));
      case 'net/rerank':
        return this.#service.rerank(checked('net/rerank', params), this.#options(token, undefined, false));
      default:
        throw new ResponseError(
          ErrorCode.methodNotFound,
          `method ${JSON.stringify(oneLine(method, 64))} is not offered by the net sidecar`,
        );
    }
  }

  #initialize(params: ParamsOf<'initialize'>): ResultOf<'initialize'> {
    if (this.#phase !== 'awaitingInitialize') throw new NetFailure('invalidState', 'initialize was already received');
    const agreed = negotiate(protocolVersion, params.protocolVersion);
    if (!agreed.ok) throw new ResponseError(ErrorCode.versionMismatch, agreed.message);
    this.#phase = 'ready';
    return { protocolVersion, serverInfo: { ...serverInfo }, capabilities: { methods: [...offeredMethods] } };
  }

  #options(token: CancellationToken, progressToken: string | number | undefined, streams: boolean): ServiceCallOptions {
    const controller = new AbortController();
    if (token.isCancellationRequested) controller.abort();
    token.onCancellationRequested(() => controller.abort());
    const report = (value: { kind: 'textDelta'; text: string } | { kind: 'status'; message: string }): void => {
      if (progressToken === undefined) return;
      this.#connection.sendNotification('$/progress', { token: progressToken, value }).catch(() => undefined);
    };
    return {
      signal: controller.signal,
      ...(streams ? { onTextDelta: (text: string) => report({ kind: 'textDelta', text }) } : {}),
      ...(progressToken === undefined
        ? {}
        : { onStatus: (message: string) => report({ kind: 'status', message: message.slice(0, 4_000) }) }),
    };
  }

  #wireError(method: string, error: unknown, apiKey: string | undefined): ResponseError<undefined> {
    let code: number;
    let message: string;
    if (error instanceof ResponseError) {
      code = error.code;
      message = error.message;
    } else if (error instanceof NetFailure) {
      code = error.wireCode;
      message = error.message;
    } else {
      code = ErrorCode.internalError;
      message = `${oneLine(method, 64)} failed inside the net sidecar`;
    }
    const safe = redact(message, apiKey).slice(0, 4_000);
    this.#log(`${oneLine(method, 64)} failed: ${errorCodeName(code) ?? code}: ${safe}`);
    return new ResponseError(code, safe);
  }
}
