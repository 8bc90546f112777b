import type { DecodedMessage, FrameLimits, Message } from '@crustcore/protocol';
import { encodeFrame, FrameDecoder, parseMessage } from '@crustcore/protocol';

/** What one inbound chunk produced: the messages completed, in order, and the fatal failure that stopped decoding. */
export interface InboundBatch {
  readonly messages: readonly DecodedMessage[];
  /** A one-line reason when the stream broke the framing or envelope rules; the stream is then dead. */
  readonly failure: string | null;
}

/** The outcome of {@link FrameCodec.encode}. */
export type OutboundFrame =
  { readonly ok: true; readonly frame: Uint8Array } | { readonly ok: false; readonly reason: string };

/**
 * The kernel's codec: the protocol's frame decoder plus JSON and envelope checks on each body.
 * It fails closed: once a frame or a body is bad, every later chunk is refused with the same reason.
 */
export class FrameCodec {
  readonly #decoder: FrameDecoder;
  readonly #messageBytesMax: number;
  #failure: string | null = null;

  /** Creates a codec with the given frame limits. */
  constructor(limits: FrameLimits) {
    this.#decoder = new FrameDecoder(limits);
    this.#messageBytesMax = limits.messageBytesMax;
  }

  /** Decodes the next inbound chunk. */
  decode(chunk: Uint8Array): InboundBatch {
    if (this.#failure !== null) return { messages: [], failure: this.#failure };
    const batch = this.#decoder.push(chunk);
    const messages: DecodedMessage[] = [];
    for (const body of batch.bodies) {
      const parsed = parseMessage(body);
      if (!parsed.ok) {
        this.#failure = `bad message: ${parsed.error.message}`;
        return { messages, failure: this.#failure };
      }
      messages.push(parsed.message);
    }
    if (batch.error !== null) this.#failure = `bad frame (${batch.error.code}): ${batch.error.message}`;
    return { messages, failure: this.#failure };
  }

  /** Signals the end of the inbound stream; a partial frame is a failure. */
  end(): string | null {
    const error = this.#decoder.end();
    if (this.#failure === null && error !== null) this.#failure = `bad frame (${error.code}): ${error.message}`;
    return this.#failure;
  }

  /** Serializes and frames one message; a message over `messageBytesMax` is refused, never split. */
  encode(message: Message): OutboundFrame {
    let body: string;
    try {
      body = JSON.stringify(message);
    } catch (error) {
      return {
        ok: false,
        reason: `message is not serializable: ${error instanceof Error ? error.message : 'unknown'}`,
      };
    }
    const framed = encodeFrame(body, this.#messageBytesMax);
    return framed.ok ? framed : { ok: false, reason: framed.error.message };
  }
}
