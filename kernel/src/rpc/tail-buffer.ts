/**
 * Keeps the most recent `bytesMax` bytes written to it and counts the rest, so a chatty or hostile
 * process cannot grow the kernel's memory through its stderr.
 */
export class TailBuffer {
  readonly #ring: Uint8Array;
  #start = 0;
  #length = 0;
  #totalBytes = 0;

  /** Creates an empty buffer that holds at most `bytesMax` bytes. */
  constructor(bytesMax: number) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) throw new RangeError('TailBuffer: bytesMax must be >= 1');
    this.#ring = new Uint8Array(bytesMax);
  }

  /** Bytes ever written, including those no longer held. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Bytes dropped from the front because the buffer was full. */
  get droppedBytes(): number {
    return this.#totalBytes - this.#length;
  }

  /** Appends a chunk, dropping the oldest bytes beyond the capacity. */
  write(chunk: Uint8Array): void {
    this.#totalBytes += chunk.length;
    const capacity = this.#ring.length;
    const kept = chunk.length > capacity ? chunk.subarray(chunk.length - capacity) : chunk;
    for (let offset = 0; offset < kept.length;) {
      const end = (this.#start + this.#length) % capacity;
      const take = Math.min(kept.length - offset, capacity - end);
      this.#ring.set(kept.subarray(offset, offset + take), end);
      offset += take;
      const overwritten = Math.max(0, this.#length + take - capacity);
      this.#length = Math.min(capacity, this.#length + take);
      this.#start = (this.#start + overwritten) % capacity;
    }
  }

  /** The held bytes, oldest first. */
  bytes(): Uint8Array {
    const capacity = this.#ring.length;
    const out = new Uint8Array(this.#length);
    const first = Math.min(this.#length, capacity - this.#start);
    out.set(this.#ring.subarray(this.#start, this.#start + first), 0);
    out.set(this.#ring.subarray(0, this.#length - first), first);
    return out;
  }

  /** The held bytes as text; a character cut at the front becomes U+FFFD. */
  text(): string {
    return new TextDecoder('utf-8').decode(this.bytes());
  }
}
