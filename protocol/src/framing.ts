import type { FrameLimits } from './limits.js';
import { Limits } from './limits.js';

/** Why a byte stream is not a valid sequence of frames. Every case is fatal for the stream. */
export type FramingErrorCode =
  | 'headerTooLarge'
  | 'messageTooLarge'
  | 'malformedHeader'
  | 'unsupportedHeader'
  | 'duplicateHeader'
  | 'missingContentLength'
  | 'invalidContentLength'
  | 'unsupportedContentType'
  | 'invalidUtf8'
  | 'truncatedFrame';

/** A framing failure: a code to switch on and a one-line message that says what was wrong. */
export interface FramingError {
  readonly code: FramingErrorCode;
  readonly message: string;
}

/** What one {@link FrameDecoder.push} produced: the bodies completed, in order, and the error that stopped it. */
export interface FrameBatch {
  readonly bodies: readonly string[];
  readonly error: FramingError | null;
}

/** The frame limits used when none are given. */
export const defaultFrameLimits: FrameLimits = {
  messageBytesMax: Limits.messageBytesMax,
  headerBytesMax: Limits.headerBytesMax,
};

const CR = 0x0d;
const LF = 0x0a;
const HEADER_LINE = /^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$/;
const CONTENT_LENGTH = /^(?:0|[1-9][0-9]*)$/;
const MEDIA_TYPES = new Set(['application/vscode-jsonrpc', 'application/json']);
const CHARSETS = new Set(['utf-8', 'utf8', '"utf-8"', '"utf8"']);

function isHeaderByte(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || byte === 0x09 || byte === CR || byte === LF;
}

function describeByte(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Incremental decoder for LSP-style frames: a header section of `Content-Length` and optional
 * `Content-Type` lines ending in an empty line, then exactly that many bytes of UTF-8 body.
 *
 * It fails closed: the first violation (a junk byte, an unknown or repeated header, an oversize
 * length, invalid UTF-8) ends the stream for good, and every later push reports the same error.
 * Memory is bounded by the limits: at most `headerBytesMax` header bytes and one body of at most
 * `messageBytesMax` bytes are held at any time, and a length over the cap is refused from the
 * header alone, before any body byte is buffered.
 */
export class FrameDecoder {
  readonly #limits: FrameLimits;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  #error: FramingError | null = null;
  #inBody = false;
  #headerBytes = 0;
  #line: number[] = [];
  #lastWasCr = false;
  #contentLength: number | null = null;
  #sawContentType = false;
  #bodyPieces: Uint8Array[] = [];
  #bodyReceived = 0;

  /** Creates a decoder with the given limits (the protocol's {@link Limits} by default). */
  constructor(limits: FrameLimits = defaultFrameLimits) {
    if (!(limits.messageBytesMax >= 1 && limits.headerBytesMax >= 4)) {
      throw new RangeError('FrameDecoder: messageBytesMax must be >= 1 and headerBytesMax >= 4');
    }
    this.#limits = limits;
  }

  /** Bytes held for the frame in progress (header or body); never more than the larger limit. */
  get bufferedBytes(): number {
    return this.#inBody ? this.#bodyReceived : this.#headerBytes;
  }

  /** The error that ended the stream, if any. */
  get error(): FramingError | null {
    return this.#error;
  }

  /** Feeds the next chunk and returns every body it completed, plus the error that stopped decoding. */
  push(chunk: Uint8Array): FrameBatch {
    if (this.#error !== null) return { bodies: [], error: this.#error };
    const bodies: string[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      offset = this.#inBody ? this.#readBody(chunk, offset, bodies) : this.#readHeader(chunk, offset);
      if (this.#error !== null) return { bodies, error: this.#error };
    }
    return { bodies, error: null };
  }

  /** Signals the end of the stream: a partly received frame is an error. */
  end(): FramingError | null {
    if (this.#error === null && (this.#inBody || this.#headerBytes > 0)) {
      const where = this.#inBody
        ? `after ${this.#bodyReceived} of ${this.#contentLength ?? 0} body bytes`
        : `inside a header of ${this.#headerBytes} bytes`;
      this.#fail('truncatedFrame', `stream ended ${where}`);
    }
    return this.#error;
  }

  #fail(code: FramingErrorCode, message: string): void {
    this.#error = { code, message };
    this.#line = [];
    this.#bodyPieces = [];
    this.#inBody = false;
    this.#headerBytes = 0;
    this.#bodyReceived = 0;
  }

  #readHeader(chunk: Uint8Array, start: number): number {
    for (let index = start; index < chunk.length; index++) {
      const byte = chunk[index] ?? 0;
      this.#headerBytes++;
      if (this.#headerBytes > this.#limits.headerBytesMax) {
        this.#fail('headerTooLarge', `header section is over headerBytesMax (${this.#limits.headerBytesMax} bytes)`);
        return index + 1;
      }
      if (!isHeaderByte(byte)) {
        this.#fail('malformedHeader', `byte ${describeByte(byte)} is not allowed in a header`);
        return index + 1;
      }
      if (this.#lastWasCr !== (byte === LF)) {
        this.#fail('malformedHeader', 'header lines must end with CRLF, and CR may appear only before LF');
        return index + 1;
      }
      this.#lastWasCr = byte === CR;
      if (byte === CR) continue;
      if (byte !== LF) {
        this.#line.push(byte);
        continue;
      }
      const line = String.fromCharCode(...this.#line);
      this.#line = [];
      if (line.length > 0) {
        this.#acceptHeaderLine(line);
        if (this.#error !== null) return index + 1;
        continue;
      }
      this.#endHeader();
      return index + 1;
    }
    return chunk.length;
  }

  #acceptHeaderLine(line: string): void {
    const match = HEADER_LINE.exec(line);
    if (match === null) {
      this.#fail('malformedHeader', `header line ${JSON.stringify(line.slice(0, 64))} is not 'Name: value'`);
      return;
    }
    const name = (match[1] ?? '').toLowerCase();
    const value = match[2] ?? '';
    switch (name) {
      case 'content-length':
        this.#acceptContentLength(value);
        return;
      case 'content-type':
        this.#acceptContentType(value);
        return;
      default:
        this.#fail(
          'unsupportedHeader',
          `header '${name.slice(0, 64)}' is not supported; only Content-Length and Content-Type are`,
        );
    }
  }

  #acceptContentLength(value: string): void {
    if (this.#contentLength !== null) {
      this.#fail('duplicateHeader', 'Content-Length appears twice');
      return;
    }
    if (!CONTENT_LENGTH.test(value) || value.length > Limits.contentLengthDigitsMax) {
      this.#fail(
        'invalidContentLength',
        `Content-Length ${JSON.stringify(value.slice(0, 32))} is not a decimal byte count`,
      );
      return;
    }
    const length = Number(value);
    if (length > this.#limits.messageBytesMax) {
      this.#fail(
        'messageTooLarge',
        `message of ${length} bytes is over messageBytesMax (${this.#limits.messageBytesMax})`,
      );
      return;
    }
    if (length === 0) {
      this.#fail('invalidContentLength', 'Content-Length must be at least 1');
      return;
    }
    this.#contentLength = length;
  }

  #acceptContentType(value: string): void {
    if (this.#sawContentType) {
      this.#fail('duplicateHeader', 'Content-Type appears twice');
      return;
    }
    this.#sawContentType = true;
    const [mediaType = '', ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
    const charsetOk = parameters.every((parameter) => {
      const [key, charset, ...rest] = parameter.split('=');
      return key === 'charset' && charset !== undefined && CHARSETS.has(charset) && rest.length === 0;
    });
    if (!MEDIA_TYPES.has(mediaType) || !charsetOk) {
      this.#fail(
        'unsupportedContentType',
        `Content-Type ${JSON.stringify(value.slice(0, 64))} is not application/vscode-jsonrpc; charset=utf-8`,
      );
    }
  }

  #endHeader(): void {
    if (this.#contentLength === null) {
      this.#fail('missingContentLength', 'header section ended without Content-Length');
      return;
    }
    this.#inBody = true;
    this.#bodyReceived = 0;
  }

  #readBody(chunk: Uint8Array, start: number, bodies: string[]): number {
    const length = this.#contentLength ?? 0;
    const take = Math.min(length - this.#bodyReceived, chunk.length - start);
    const end = start + take;
    let body: Uint8Array | null = null;
    if (this.#bodyReceived === 0 && take === length) {
      body = chunk.subarray(start, end);
    } else {
      const piece = new Uint8Array(take);
      piece.set(chunk.subarray(start, end));
      this.#bodyPieces.push(piece);
      this.#bodyReceived += take;
      if (this.#bodyReceived === length) body = concat(this.#bodyPieces, length);
    }
    if (body === null) return end;
    try {
      bodies.push(this.#utf8.decode(body));
    } catch {
      this.#fail('invalidUtf8', `body of ${length} bytes is not valid UTF-8`);
      return end;
    }
    this.#inBody = false;
    this.#headerBytes = 0;
    this.#contentLength = null;
    this.#sawContentType = false;
    this.#bodyPieces = [];
    this.#bodyReceived = 0;
    return end;
  }
}

function concat(pieces: readonly Uint8Array[], length: number): Uint8Array {
  const whole = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    whole.set(piece, offset);
    offset += piece.length;
  }
  return whole;
}

const utf8Encoder = new TextEncoder();

/** The outcome of {@link encodeFrame}. */
export type EncodeFrameResult =
  { readonly ok: true; readonly frame: Uint8Array } | { readonly ok: false; readonly error: FramingError };

/**
 * Frames one body: `Content-Length: <bytes>\r\n\r\n` followed by the UTF-8 body, in one buffer so
 * a frame is written with a single call. A body over `messageBytesMax` is refused, never split.
 */
export function encodeFrame(body: string, messageBytesMax: number = Limits.messageBytesMax): EncodeFrameResult {
  const bytes = utf8Encoder.encode(body);
  if (bytes.length > messageBytesMax) {
    return {
      ok: false,
      error: {
        code: 'messageTooLarge',
        message: `message of ${bytes.length} bytes is over messageBytesMax (${messageBytesMax})`,
      },
    };
  }
  if (bytes.length === 0) {
    return { ok: false, error: { code: 'invalidContentLength', message: 'a frame body must not be empty' } };
  }
  const header = utf8Encoder.encode(`Content-Length: ${bytes.length}\r\n\r\n`);
  const frame = new Uint8Array(header.length + bytes.length);
  frame.set(header, 0);
  frame.set(bytes, header.length);
  return { ok: true, frame };
}
