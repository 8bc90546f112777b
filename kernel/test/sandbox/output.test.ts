/**
 * Output (REDTEAM 20): merged stdout+stderr kept as head+tail within `outputBytesMax`, every
 * byte counted and hashed, the kernel's memory bounded however much the command prints. The
 * collector is checked against a plain reference on random chunkings (fast-check), and the real
 * sandbox against gigabytes of output.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputCollector } from '../../src/sandbox/output-collector.js';
import { run, shellSpec } from './helpers.js';

function reference(all: Buffer, outputBytesMax: number) {
  const headBytes = Math.ceil(outputBytesMax / 2);
  const tailBytes = outputBytesMax - headBytes;
  const truncated = all.length > outputBytesMax;
  return {
    output: {
      head: (truncated ? all.subarray(0, headBytes) : all.subarray(0, Math.min(headBytes, all.length))).toString(
        'latin1',
      ),
      tail: (truncated ? all.subarray(all.length - tailBytes) : all.subarray(Math.min(headBytes, all.length))).toString(
        'latin1',
      ),
      totalBytes: all.length,
      truncated,
    },
    digest: createHash('sha256').update(all).digest('hex'),
  };
}

describe('OutputCollector', () => {
  it('matches the reference for any chunking (ASCII)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes.map((byte) => byte & 0x7f))),
          { maxLength: 20 },
        ),
        fc.integer({ min: 2, max: 100 }),
        (chunks, outputBytesMax) => {
          const collector = new OutputCollector(outputBytesMax);
          for (const chunk of chunks) collector.push(chunk);
          expect(collector.finish()).toEqual(reference(Buffer.concat(chunks), outputBytesMax));
        },
      ),
    );
  });

  it('never splits a UTF-8 character at a cut', () => {
    const collector = new OutputCollector(6);
    collector.push(Buffer.from('ééééééé', 'utf8'));
    expect(collector.finish().output).toEqual({ head: 'é', tail: 'é', totalBytes: 14, truncated: true });
  });

  it('keeps everything under the cap: head + tail is the whole output', () => {
    const collector = new OutputCollector(10);
    collector.push(Buffer.from('abc'));
    collector.push(Buffer.from('defgh'));
    expect(collector.finish().output).toEqual({ head: 'abcde', tail: 'fgh', totalBytes: 8, truncated: false });
  });
});

describe('sandboxed output', () => {
  it('merges stdout and stderr in order', async () => {
    const result = await run(shellSpec('echo one; echo two >&2; echo three'));
    expect(result.output).toEqual({ head: 'one\ntwo\nthree\n', tail: '', totalBytes: 14, truncated: false });
    expect(result.outputDigest).toBe(createHash('sha256').update('one\ntwo\nthree\n').digest('hex'));
  });

  it('a gigabyte of output: truncated, head and tail kept, every byte counted, memory bounded', async () => {
    const before = process.memoryUsage().rss;
    const bytes = 1024 ** 3;
    const result = await run(
      shellSpec(`printf 'BEGIN'; yes | head -c ${bytes - 8}; printf 'END'`, {
        outputBytesMax: 1024 * 1024,
        timeoutMs: 60_000,
      }),
    );
    const grown = process.memoryUsage().rss - before;
    expect(result.output.totalBytes).toBe(bytes);
    expect(result.output.truncated).toBe(true);
    expect(result.output.head.startsWith('BEGINy\ny\n')).toBe(true);
    expect(result.output.head.length).toBe(512 * 1024);
    expect(result.output.tail.endsWith('\ny\nEND')).toBe(true);
    expect(result.output.tail.length).toBe(512 * 1024);
    expect(result.exitCode).toBe(0);
    expect(grown).toBeLessThan(200 * 1024 * 1024);
  });

  it('endless output ends at the timeout, marked timed out, still bounded', async () => {
    const result = await run(shellSpec('yes', { timeoutMs: 1500, outputBytesMax: 4096 }));
    expect(result.timedOut).toBe(true);
    expect(result.output.truncated).toBe(true);
    expect(result.output.head.length + result.output.tail.length).toBe(4096);
    expect(result.output.totalBytes).toBeGreaterThan(4096);
  });

  it('stdin is delivered, then closed', async () => {
    const result = await run(shellSpec('cat; echo "[eof]"', { stdin: new TextEncoder().encode('{"contract":1}') }));
    expect(result.output.head).toBe('{"contract":1}[eof]\n');
  });
});
