import type { Readable } from 'node:stream';
import { ErrorCode, FrameDecoder, parseMessage } from '@crustcore/protocol';
import type { DecodedMessage, FramingError } from '@crustcore/protocol';
import { AbstractMessageReader } from 'vscode-jsonrpc/node';
import type {
  DataCallback,
  Disposable,
  Message,
  MessageReader,
  NotificationMessage,
  RequestMessage,
  ResponseMessage,
} from 'vscode-jsonrpc/node';

/** Sends an error response the reader produced itself (for a message it refused). */
export type RespondError = (message: ResponseMessage) => Promise<void>;

function toVscodeMessage(message: DecodedMessage): Message {
  switch (message.kind) {
    case 'request': {
      const request: RequestMessage = { jsonrpc: '2.0', id: message.id, method: message.method };
      if (message.params !== undefined) request.params = message.params as object;
      return request;
    }
    case 'notification': {
      const notification: NotificationMessage = { jsonrpc: '2.0', method: message.method };
      if (message.params !== undefined) notification.params = message.params as object;
      return notification;
    }
    case 'result': {
      const response: ResponseMessage = { jsonrpc: '2.0', id: message.id, result: message.result as object };
      return response;
    }
    case 'error': {
      const response: ResponseMessage = { jsonrpc: '2.0', id: message.id, error: message.error };
      return response;
    }
    default:
      return assertNever(message);
  }
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/**
 * A vscode-jsonrpc `MessageReader` that applies the protocol's own framing and envelope rules
 * instead of vscode-jsonrpc's lenient ones: a frame over `Limits.messageBytesMax` is refused from
 * its header (vscode-jsonrpc's reader has no cap), and a message that breaks the strict envelope
 * gets an `invalidRequest` (or `parseError`) answer without reaching the handlers. A broken frame
 * ends the stream: the peer gets one error response with id `null`, then the reader closes.
 */
export class StrictStreamReader extends AbstractMessageReader implements MessageReader {
  readonly #input: Readable;
  readonly #respond: RespondError;
  readonly #decoder = new FrameDecoder();
  #failure: FramingError | null = null;
  #closed = false;

  /** Reads frames from `input`; `respond` sends the reader's own error responses. */
  constructor(input: Readable, respond: RespondError) {
    super();
    this.#input = input;
    this.#respond = respond;
  }

  /** The framing error that ended the stream, if one did. */
  get failure(): FramingError | null {
    return this.#failure;
  }

  /** Starts reading; `callback` receives each message that passed the envelope rules. */
  listen(callback: DataCallback): Disposable {
    const onData = (chunk: Buffer): void => {
      const batch = this.#decoder.push(chunk);
      for (const body of batch.bodies) {
        const parsed = parseMessage(body);
        if (parsed.ok) callback(toVscodeMessage(parsed.message));
        else
          void this.#respond({
            jsonrpc: '2.0',
            id: parsed.error.id,
            error: { code: parsed.error.code, message: parsed.error.message },
          });
      }
      if (batch.error !== null) this.#fail(batch.error);
    };
    const onEnd = (): void => {
      const error = this.#decoder.end();
      if (error !== null) this.#fail(error);
      else this.#close();
    };
    const onError = (error: Error): void => {
      this.fireError(error);
      this.#close();
    };
    this.#input.on('data', onData);
    this.#input.on('end', onEnd);
    this.#input.on('error', onError);
    return {
      dispose: () => {
        this.#input.off('data', onData);
        this.#input.off('end', onEnd);
        this.#input.off('error', onError);
      },
    };
  }

  #fail(error: FramingError): void {
    if (this.#failure !== null || this.#closed) return;
    this.#failure = error;
    this.#input.pause();
    const code =
      error.code === 'messageTooLarge' || error.code === 'headerTooLarge'
        ? ErrorCode.contentTooLarge
        : ErrorCode.parseError;
    void this.#respond({
      jsonrpc: '2.0',
      id: null,
      error: { code, message: `unreadable input, closing: ${error.message}` },
    })
      .catch(() => undefined)
      .finally(() => this.#close());
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.fireClose();
  }
}
