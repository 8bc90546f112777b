/** The stderr tail keeps exactly the most recent bytes, whatever the chunking (property test against a plain array). */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { TailBuffer } from '../../src/rpc/tail-buffer.js';

test('holds the last bytesMax bytes for any sequence of writes', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 20 }),
      (bytesMax, chunks) => {
        const tail = new TailBuffer(bytesMax);
        const all: number[] = [];
        for (const chunk of chunks) {
          tail.write(chunk);
          all.push(...chunk);
        }
        expect({ bytes: [...tail.bytes()], total: tail.totalBytes, dropped: tail.droppedBytes }).toEqual({
          bytes: all.slice(Math.max(0, all.length - bytesMax)),
          total: all.length,
          dropped: Math.max(0, all.length - bytesMax),
        });
      },
    ),
    { numRuns: 300 },
  );
});

test('text decodes the held bytes', () => {
  const tail = new TailBuffer(5);
  tail.write(new TextEncoder().encode('hello world'));
  expect(tail.text()).toBe('world');
});
