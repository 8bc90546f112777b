import type { Readable, Writable } from 'node:stream';
import type {
  DecodedMessage,
  Direction,
  Message,
  NotificationMethod,
  ParamsOf,
  RequestId,
  RequestMethod,
  ResponseErrorObject,
  ResultOf,
} from '@crustcore/protocol';
import { ErrorCode, errorCodeName, isMethodName, Methods, validateParams, validateResult } from '@crustcore/protocol';
import { FrameCodec } from './frame-codec.js';
import { RpcError, ResponseError } from './rpc-error.js';
import type { RpcLimits } from './rpc-limits.js';
import { defaultRpcLimits } from './rpc-limits.js';

/** Which end of the wire this connection is: it decides which methods may be sent and received. */
export type PeerRole = 'kernel' | 'sidecar';

/** One `$/progress` report about a call in flight. */
export type ProgressValue = ParamsOf<'$/progress'>['value'];

type ProgressToken = ParamsOf<'$/progress'>['token'];

/** A handler for a request from the peer. Its result is checked against the method's result schema. */
export type RequestHandler<M extends RequestMethod> = (
  params: ParamsOf<M>,
  signal: AbortSignal,
) => ResultOf<M> | Promise<ResultOf<M>>;

/** How to reach the peer and how to bound the conversation. */
export interface RpcConnectionOptions {
  /** The peer's output (a child's stdout). */
  readonly input: Readable;
  /** The peer's input (a child's stdin). */
  readonly output: Writable;
  /** This end's role; `kernel` unless this connection serves inside a sidecar. */
  readonly role?: PeerRole;
  /** How the peer is named in error messages, such as `sidecar 'net'`. */
  readonly peerName?: string;
  /** Overrides for {@link defaultRpcLimits}. */
  readonly limits?: Partial<RpcLimits>;
  /**
   * Called when a stream ends or fails, with a one-line reason. When given, the owner decides how
   * to close (for example with `sidecarExited` once the process is known to be gone); otherwise
   * the connection closes itself with `connectionClosed`.
   */
  readonly onTransportEnded?: (reason: string) => void;
}

/** Per-call options. */
export interface CallOptions {
  /** Overrides the connection's `callTimeoutMs` for this call. */
  readonly timeoutMs?: number;
  /** Aborting it cancels the call: the peer gets `$/cancelRequest` and the call rejects with `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * Receives the peer's `$/progress` reports for this call, in order. The params must carry a
   * `progressToken` that no other pending call uses; the peer echoes it in each report.
   */
  readonly onProgress?: (value: ProgressValue) => void;
}

interface PendingCall {
  readonly method: RequestMethod;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: RpcError) => void;
  readonly release: () => void;
}

/** The `progressToken` param of a request, when its method has one. */
function progressTokenOf(params: unknown): ProgressToken | undefined {
  if (typeof params !== 'object' || params === null || !Object.hasOwn(params, 'progressToken')) return undefined;
  return (params as { readonly progressToken?: ProgressToken }).progressToken;
}

type AnyHandler = (params: unknown, signal: AbortSignal) => unknown;

/** True for C0 and C1 control characters and the Unicode line and paragraph separators. */
function isControlCharacter(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

/** Peer-supplied text made safe for a one-line error message. */
function oneLine(text: string, lengthMax = 300): string {
  let flat = '';
  for (const character of text.slice(0, lengthMax)) {
    flat += isControlCharacter(character.charCodeAt(0)) ? ' ' : character;
  }
  return text.length > lengthMax ? `${flat}…` : flat;
}

function sends(role: PeerRole, direction: Direction): boolean {
  return direction === 'both' || direction === (role === 'kernel' ? 'kernelToSidecar' : 'sidecarToKernel');
}

function receives(role: PeerRole, direction: Direction): boolean {
  return sends(role === 'kernel' ? 'sidecar' : 'kernel', direction);
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/**
 * A JSON-RPC 2.0 peer over a pair of streams, with no dependency beyond the protocol package.
 *
 * Everything the peer sends is checked before it is used: framing and size limits, the envelope,
 * the params of its requests and notifications, and the result of every response against the
 * called method's result schema. A peer that breaks framing or envelope rules, answers a call
 * that was never made or sends an unknown notification loses the connection: every pending call
 * rejects with `protocolViolation`. An invalid result rejects only that call (`invalidResult`).
 */
export class RpcConnection {
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #role: PeerRole;
  readonly #peerName: string;
  readonly #limits: RpcLimits;
  readonly #codec: FrameCodec;
  readonly #onTransportEnded: ((reason: string) => void) | undefined;
  readonly #pending = new Map<RequestId, PendingCall>();
  readonly #abandoned = new Set<RequestId>();
  readonly #incoming = new Map<RequestId, AbortController>();
  readonly #progressListeners = new Map<ProgressToken, (value: ProgressValue) => void>();
  readonly #handlers = new Map<RequestMethod, AnyHandler>();
  readonly #closeListeners: ((reason: RpcError) => void)[] = [];
  #nextId = 0;
  #closed: RpcError | null = null;

  readonly #onData = (chunk: Buffer): void => this.#receive(chunk);
  readonly #onInputEnd = (): void => this.#transportEnded(this.#codec.end() ?? `${this.#peerName} closed its output`);
  readonly #onInputError = (error: Error): void =>
    this.#transportEnded(`reading from ${this.#peerName} failed: ${error.message}`);
  readonly #onOutputError = (error: Error): void =>
    this.#transportEnded(`writing to ${this.#peerName} failed: ${error.message}`);

  /** Starts reading from `input` at once. */
  constructor(options: RpcConnectionOptions) {
    this.#input = options.input;
    this.#output = options.output;
    this.#role = options.role ?? 'kernel';
    this.#peerName = options.peerName ?? (this.#role === 'kernel' ? 'the sidecar' : 'the kernel');
    this.#limits = { ...defaultRpcLimits, ...options.limits };
    this.#codec = new FrameCodec(this.#limits);
    this.#onTransportEnded = options.onTransportEnded;
    this.#handlers.set('$/ping', () => null);
    this.#input.on('data', this.#onData);
    this.#input.on('end', this.#onInputEnd);
    this.#input.on('error', this.#onInputError);
    this.#output.on('error', this.#onOutputError);
  }

  /** Why the connection closed, or `null` while it is open. */
  get closedReason(): RpcError | null {
    return this.#closed;
  }

  /** Calls waiting for a response. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** Registers `listener` to run once when the connection closes, with the reason. */
  onClose(listener: (reason: RpcError) => void): void {
    if (this.#closed !== null) listener(this.#closed);
    else this.#closeListeners.push(listener);
  }

  /** Serves requests for `method` from the peer (replacing the built-in `$/ping` answer if asked). */
  onRequest<M extends RequestMethod>(method: M, handler: RequestHandler<M>): void {
    if (!receives(this.#role, Methods[method].direction)) {
      throw new Error(`${method} is never sent to a ${this.#role}; no handler can be registered for it`);
    }
    this.#handlers.set(method, handler as AnyHandler);
  }

  /**
   * Calls `method` on the peer. Resolves with the result once it passed the method's result
   * schema; rejects with an {@link RpcError} otherwise.
   */
  request<M extends RequestMethod>(method: M, params: ParamsOf<M>, options: CallOptions = {}): Promise<ResultOf<M>> {
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const refusal = this.#checkOutgoing(method, options);
      if (refusal !== null) return reject(refusal);
      const checked = validateParams(method, params);
      if (!checked.ok)
        return reject(new RpcError('invalidParams', `kernel sent invalid ${checked.message}`, { method }));
      const onProgress = options.onProgress;
      const progressToken = onProgress === undefined ? undefined : progressTokenOf(checked.params);
      if (onProgress !== undefined && (progressToken === undefined || this.#progressListeners.has(progressToken))) {
        const why = progressToken === undefined ? 'needs a progressToken param' : 'uses a progressToken already in use';
        return reject(new RpcError('invalidParams', `${method} with onProgress ${why}`, { method }));
      }
      const id = this.#nextId++;
      const message: Message =
        checked.params === undefined
          ? { jsonrpc: '2.0', id, method }
          : { jsonrpc: '2.0', id, method, params: checked.params };
      const framed = this.#codec.encode(message);
      if (!framed.ok) {
        return reject(
          new RpcError('requestTooLarge', `${method} not sent: ${framed.reason}; send less data per call`, { method }),
        );
      }
      const timeoutMs = options.timeoutMs ?? this.#limits.callTimeoutMs;
      const timer = setTimeout(() => {
        this.#abandon(
          id,
          new RpcError(
            'timeout',
            `${method} got no answer from ${this.#peerName} within ${timeoutMs} ms; cancelled it`,
            { method },
          ),
        );
      }, timeoutMs);
      const signal = options.signal;
      const onAbort = (): void =>
        this.#abandon(id, new RpcError('cancelled', `${method} was cancelled by the caller`, { method }));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (onProgress !== undefined && progressToken !== undefined)
        this.#progressListeners.set(progressToken, onProgress);
      this.#pending.set(id, {
        method,
        resolve: resolve as (result: unknown) => void,
        reject,
        release: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (progressToken !== undefined) this.#progressListeners.delete(progressToken);
        },
      });
      this.#write(framed.frame);
    });
  }

  /** Sends a notification; returns false (and sends nothing) when it is not allowed or the connection is closed. */
  notify<M extends NotificationMethod>(method: M, params: ParamsOf<M>): boolean {
    if (this.#closed !== null || !sends(this.#role, Methods[method].direction)) return false;
    const checked = validateParams(method, params);
    if (!checked.ok) return false;
    const framed = this.#codec.encode({ jsonrpc: '2.0', method, params: checked.params });
    if (!framed.ok) return false;
    this.#write(framed.frame);
    return true;
  }

  /**
   * Closes the connection: every pending call rejects with `reason`, every request being served
   * is aborted, input is no longer read and the output is ended. Later calls reject at once.
   */
  close(reason: RpcError = new RpcError('connectionClosed', `connection to ${this.#peerName} was closed`)): void {
    if (this.#closed !== null) return;
    this.#closed = reason;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) {
      call.release();
      call.reject(reason.forMethod(call.method));
    }
    for (const controller of this.#incoming.values()) controller.abort();
    this.#incoming.clear();
    this.#abandoned.clear();
    this.#input.off('data', this.#onData);
    this.#input.off('end', this.#onInputEnd);
    this.#input.destroy();
    this.#output.end();
    for (const listener of this.#closeListeners.splice(0)) listener(reason);
  }

  #checkOutgoing(method: RequestMethod, options: CallOptions): RpcError | null {
    if (this.#closed !== null) return this.#closed.forMethod(method);
    if (!sends(this.#role, Methods[method].direction)) {
      return new RpcError('methodNotOffered', `${method} is never sent by a ${this.#role}`, { method });
    }
    if (this.#pending.size >= this.#limits.pendingCallsMax) {
      return new RpcError(
        'tooManyPendingCalls',
        `${method} not sent: ${this.#pending.size} calls already wait for ${this.#peerName} (pendingCallsMax)`,
        { method },
      );
    }
    if (options.signal?.aborted === true)
      return new RpcError('cancelled', `${method} was cancelled before it was sent`, { method });
    return null;
  }

  #abandon(id: RequestId, error: RpcError): void {
    const call = this.#pending.get(id);
    if (call === undefined) return;
    this.#pending.delete(id);
    call.release();
    this.#abandoned.add(id);
    if (this.#abandoned.size > this.#limits.abandonedCallsMax) {
      const oldest = this.#abandoned.values().next();
      if (oldest.done !== true) this.#abandoned.delete(oldest.value);
    }
    this.notify('$/cancelRequest', { id });
    call.reject(error);
  }

  #write(frame: Uint8Array): void {
    if (this.#closed !== null || this.#output.destroyed) return;
    this.#output.write(frame);
  }

  #transportEnded(reason: string): void {
    if (this.#closed !== null) return;
    if (this.#onTransportEnded !== undefined) this.#onTransportEnded(reason);
    else this.close(new RpcError('connectionClosed', `${reason}; connection closed`));
  }

  #violate(what: string): void {
    this.close(new RpcError('protocolViolation', `${this.#peerName} ${what}; connection closed`));
  }

  #receive(chunk: Buffer): void {
    const batch = this.#codec.decode(chunk);
    for (const message of batch.messages) {
      this.#dispatch(message);
      if (this.#closed !== null) return;
    }
    if (batch.failure !== null) this.#violate(`sent a ${batch.failure}`);
  }

  #dispatch(message: DecodedMessage): void {
    switch (message.kind) {
      case 'request':
        this.#serve(message.id, message.method, message.params);
        return;
      case 'notification':
        this.#notified(message.method, message.params);
        return;
      case 'result':
        this.#answered(message.id, { result: message.result });
        return;
      case 'error':
        this.#answered(message.id, { error: message.error });
        return;
      default:
        assertNever(message);
    }
  }

  #answered(
    id: RequestId | null,
    outcome: { readonly result: unknown } | { readonly error: ResponseErrorObject },
  ): void {
    if (id === null) {
      const error = 'error' in outcome ? outcome.error : { code: 0, message: '' };
      this.#violate(`reported an error for a message it could not read (${error.code}: ${oneLine(error.message)})`);
      return;
    }
    const call = this.#pending.get(id);
    if (call === undefined) {
      if (!this.#abandoned.delete(id)) this.#violate(`answered request id ${JSON.stringify(id)}, which is not pending`);
      return;
    }
    this.#pending.delete(id);
    call.release();
    if ('error' in outcome) {
      const { code, message } = outcome.error;
      const name = errorCodeName(code) ?? `code ${code}`;
      call.reject(
        new RpcError('remoteError', `${call.method} failed in ${this.#peerName}: ${name}: ${oneLine(message)}`, {
          method: call.method,
          remote: outcome.error,
        }),
      );
      return;
    }
    const checked = validateResult(call.method, outcome.result);
    if (checked.ok) call.resolve(checked.result);
    else
      call.reject(
        new RpcError('invalidResult', `${this.#peerName} sent an invalid ${oneLine(checked.message)}`, {
          method: call.method,
        }),
      );
  }

  #notified(method: string, params: unknown): void {
    if (
      !isMethodName(method) ||
      Methods[method].kind !== 'notification' ||
      !receives(this.#role, Methods[method].direction)
    ) {
      this.#violate(`sent notification ${JSON.stringify(oneLine(method, 64))}, which it may not send`);
      return;
    }
    const notification = method as NotificationMethod;
    switch (notification) {
      case '$/cancelRequest': {
        const checked = validateParams(notification, params);
        if (!checked.ok) return this.#violate(`sent invalid ${oneLine(checked.message)}`);
        this.#incoming.get(checked.params.id)?.abort();
        return;
      }
      case '$/progress': {
        const checked = validateParams(notification, params);
        if (!checked.ok) return this.#violate(`sent invalid ${oneLine(checked.message)}`);
        const listener = this.#progressListeners.get(checked.params.token);
        if (listener === undefined) return;
        try {
          listener(checked.params.value);
        } catch {
          // A failing progress listener is the caller's problem; it must not break the connection.
        }
        return;
      }
      default:
        assertNever(notification);
    }
  }

  #serve(id: RequestId, method: string, params: unknown): void {
    if (this.#incoming.has(id)) return this.#violate(`reused request id ${JSON.stringify(id)} while it was in flight`);
    const handler =
      isMethodName(method) && Methods[method].kind === 'request'
        ? this.#handlers.get(method as RequestMethod)
        : undefined;
    if (handler === undefined) {
      return this.#respondError(
        id,
        ErrorCode.methodNotFound,
        `method ${JSON.stringify(oneLine(method, 64))} is not handled here`,
      );
    }
    const requestMethod = method as RequestMethod;
    if (this.#incoming.size >= this.#limits.incomingRequestsMax) {
      return this.#respondError(
        id,
        ErrorCode.invalidState,
        `too many requests in flight (incomingRequestsMax ${this.#limits.incomingRequestsMax})`,
      );
    }
    const checked = validateParams(requestMethod, params);
    if (!checked.ok) return this.#respondError(id, ErrorCode.invalidParams, checked.message);
    const controller = new AbortController();
    this.#incoming.set(id, controller);
    Promise.resolve()
      // A cancellation can arrive in the same chunk, before the handler ever starts.
      .then(() => (controller.signal.aborted ? undefined : handler(checked.params, controller.signal)))
      .then(
        (result) => this.#finishServing(id, requestMethod, controller, { result }),
        (error: unknown) => this.#finishServing(id, requestMethod, controller, { error }),
      )
      .catch(() => undefined);
  }

  #finishServing(
    id: RequestId,
    method: RequestMethod,
    controller: AbortController,
    outcome: { readonly result: unknown } | { readonly error: unknown },
  ): void {
    if (this.#incoming.get(id) !== controller) return;
    this.#incoming.delete(id);
    if (this.#closed !== null) return;
    if (controller.signal.aborted) return this.#respondError(id, ErrorCode.requestCancelled, `${method} was cancelled`);
    if ('error' in outcome) {
      const error = outcome.error;
      if (error instanceof ResponseError) return this.#respondError(id, error.code, error.message, error.data);
      return this.#respondError(id, ErrorCode.internalError, `${method} failed inside the handler`);
    }
    const checked = validateResult(method, outcome.result);
    if (!checked.ok)
      return this.#respondError(id, ErrorCode.internalError, `${method} handler produced an invalid result`);
    const framed = this.#codec.encode({ jsonrpc: '2.0', id, result: checked.result });
    if (!framed.ok)
      return this.#respondError(id, ErrorCode.contentTooLarge, `${method} result not sent: ${framed.reason}`);
    this.#write(framed.frame);
  }

  #respondError(id: RequestId, code: number, message: string, data?: unknown): void {
    const error: ResponseErrorObject = data === undefined ? { code, message } : { code, message, data };
    let framed = this.#codec.encode({ jsonrpc: '2.0', id, error });
    // Oversized or unserializable data must not cost the peer its answer: send the error without it.
    if (!framed.ok) framed = this.#codec.encode({ jsonrpc: '2.0', id, error: { code, message } });
    if (framed.ok) this.#write(framed.frame);
  }
}
