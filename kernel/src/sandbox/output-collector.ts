/**
 * Keeps a head and a tail of a byte stream within a fixed budget, counts every byte and hashes
 * the whole stream incrementally. Memory stays at `outputBytesMax` however much is written.
 */
import { createHash, type Hash } from 'node:crypto';
import type { SandboxOutput } from './types.js';

/** The collected output plus the digest of everything that was pushed. */
export interface CollectedOutput {
  readonly output: SandboxOutput;
  readonly digest: string;
}

/** Head+tail buffer over a stream; decode only at `finish`. */
export class OutputCollector {
  readonly #head: Buffer;
  readonly #tail: Buffer;
  readonly #hash: Hash = createHash('sha256');
  #headBytes = 0;
  /** Next write position in the tail ring. */
  #tailCursor = 0;
  /** Bytes the tail ring holds (≤ its size). */
  #tailBytes = 0;
  #totalBytes = 0;
  #finished = false;

  constructor(outputBytesMax: number) {
    if (!Number.isSafeInteger(outputBytesMax) || outputBytesMax < 2) {
      throw new TypeError(`output collector: outputBytesMax ${outputBytesMax} is not an integer ≥ 2.`);
    }
    const headBytesMax = Math.ceil(outputBytesMax / 2);
    this.#head = Buffer.alloc(headBytesMax);
    this.#tail = Buffer.alloc(outputBytesMax - headBytesMax);
  }

  /** Bytes pushed so far. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Adds one chunk of the stream. */
  push(chunk: Uint8Array): void {
    if (this.#finished) throw new TypeError('output collector: push after finish.');
    this.#hash.update(chunk);
    this.#totalBytes += chunk.length;
    let offset = 0;
    if (this.#headBytes < this.#head.length) {
      const take = Math.min(this.#head.length - this.#headBytes, chunk.length);
      this.#head.set(chunk.subarray(0, take), this.#headBytes);
      this.#headBytes += take;
      offset = take;
    }
    const ringSize = this.#tail.length;
    if (offset >= chunk.length || ringSize === 0) return;
    // Only the last `ringSize` bytes of the chunk can survive in the ring.
    const rest = chunk.subarray(Math.max(offset, chunk.length - ringSize));
    let written = 0;
    while (written < rest.length) {
      const take = Math.min(ringSize - this.#tailCursor, rest.length - written);
      this.#tail.set(rest.subarray(written, written + take), this.#tailCursor);
      this.#tailCursor = (this.#tailCursor + take) % ringSize;
      written += take;
    }
    this.#tailBytes = Math.min(ringSize, this.#tailBytes + rest.length);
  }

  /** Ends the stream: decodes head and tail as UTF-8 and returns the digest. */
  finish(): CollectedOutput {
    this.#finished = true;
    const truncated = this.#totalBytes > this.#head.length + this.#tail.length;
    const ringSize = this.#tail.length;
    const tailBytes =
      this.#tailBytes < ringSize
        ? this.#tail.subarray(0, this.#tailBytes)
        : Buffer.concat([this.#tail.subarray(this.#tailCursor), this.#tail.subarray(0, this.#tailCursor)]);
    const headBytes = this.#head.subarray(0, this.#headBytes);
    return {
      output: {
        head: (truncated ? withoutTrailingPartialCharacter(headBytes) : headBytes).toString('utf8'),
        tail: (truncated ? withoutLeadingContinuationBytes(tailBytes) : tailBytes).toString('utf8'),
        totalBytes: this.#totalBytes,
        truncated,
      },
      digest: this.#hash.digest('hex'),
    };
  }
}

/** A cut in the middle of a UTF-8 sequence would decode to U+FFFD; drop the partial sequence instead. */
function withoutTrailingPartialCharacter(bytes: Buffer): Buffer {
  for (let back = 1; back <= Math.min(4, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const sequenceBytes = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return sequenceBytes > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}

function withoutLeadingContinuationBytes(bytes: Buffer): Buffer {
  let start = 0;
  while (start < Math.min(3, bytes.length) && ((bytes[start] ?? 0) & 0xc0) === 0x80) start += 1;
  return bytes.subarray(start);
}
