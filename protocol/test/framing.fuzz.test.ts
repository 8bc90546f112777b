/**
 * Property tests for the frame decoder. Invariants: it never throws on any input, it never holds
 * more than the larger of its two limits, every failure is one of the typed codes, and valid
 * frames split at arbitrary points always decode to the same bodies in the same order.
 * Method: fast-check generates byte soups, split points, wrong lengths and oversize headers.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { FramingErrorCode } from '../src/framing.js';
import { encodeFrame, FrameDecoder } from '../src/framing.js';

const limits = { messageBytesMax: 512, headerBytesMax: 64 };
const heldMax = Math.max(limits.messageBytesMax, limits.headerBytesMax);
const codes: readonly FramingErrorCode[] = [
  'headerTooLarge',
  'messageTooLarge',
  'malformedHeader',
  'unsupportedHeader',
  'duplicateHeader',
  'missingContentLength',
  'invalidContentLength',
  'unsupportedContentType',
  'invalidUtf8',
  'truncatedFrame',
];

/** Feeds `input` in the given pieces and checks the invariants after every push. */
function feed(input: Uint8Array, cuts: readonly number[]): { bodies: string[]; errorCode: FramingErrorCode | null } {
  const decoder = new FrameDecoder(limits);
  const bodies: string[] = [];
  const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const end of [...points, input.length]) {
    const batch = decoder.push(input.subarray(start, end));
    bodies.push(...batch.bodies);
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(heldMax);
    if (batch.error !== null) expect(codes).toContain(batch.error.code);
    start = end;
  }
  const error = decoder.end();
  if (error !== null) expect(codes).toContain(error.code);
  return { bodies, errorCode: error?.code ?? null };
}

const bodyArbitrary = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 120 })
  .map((text) => JSON.stringify({ text }))
  .filter((body) => new TextEncoder().encode(body).length <= limits.messageBytesMax);

function frames(bodies: readonly string[]): Uint8Array {
  const parts = bodies.map((body) => {
    const result = encodeFrame(body, limits.messageBytesMax);
    if (!result.ok) throw new Error(result.error.message);
    return result.frame;
  });
  const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}

describe('FrameDecoder properties', () => {
  test('random bytes never throw, stay bounded and fail only with typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat(), { maxLength: 8 }), (input, cuts) => {
        feed(input, cuts);
      }),
      { numRuns: 500 },
    );
  });

  test('valid frames split anywhere decode to the same bodies', () => {
    fc.assert(
      fc.property(
        fc.array(bodyArbitrary, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 16 }),
        (bodies, cuts) => {
          expect(feed(frames(bodies), cuts)).toEqual({ bodies, errorCode: null });
        },
      ),
      { numRuns: 500 },
    );
  });

  test('wrong Content-Length values never throw and never yield a body of the wrong size', () => {
    fc.assert(
      fc.property(
        bodyArbitrary,
        fc.integer({ min: -5, max: 600 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (body, delta, cuts) => {
          const size = new TextEncoder().encode(body).length;
          const claimed = Math.max(0, size + delta);
          const input = new TextEncoder().encode(`Content-Length: ${claimed}\r\n\r\n${body}`);
          const outcome = feed(input, cuts);
          if (claimed === size) expect(outcome).toEqual({ bodies: [body], errorCode: null });
          else expect(outcome.errorCode).not.toBeNull();
          for (const decoded of outcome.bodies) expect(new TextEncoder().encode(decoded).length).toBe(claimed);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('huge or garbled headers are refused within headerBytesMax', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary-ascii', minLength: 0, maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (header, cuts) => {
          const input = new TextEncoder().encode(`${header}\r\n\r\n{}`);
          const outcome = feed(input, cuts);
          if (header.length + 4 > limits.headerBytesMax) expect(outcome.errorCode).not.toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a single flipped byte in a valid stream never throws', () => {
    fc.assert(
      fc.property(
        fc.array(bodyArbitrary, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (bodies, at, byte) => {
          const input = frames(bodies);
          input[at % input.length] = byte;
          feed(input, [at]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
