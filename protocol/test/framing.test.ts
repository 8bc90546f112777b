/**
 * The frame decoder and encoder, case by case: every header rule, every limit, and the rule that
 * the first violation ends the stream for good.
 */
import { describe, expect, test } from 'vitest';
import type { FrameBatch } from '../src/framing.js';
import { encodeFrame, FrameDecoder } from '../src/framing.js';
import { Limits } from '../src/limits.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const frame = (body: string): string => `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`;
const decodeAll = (input: string, limits = { messageBytesMax: 1024, headerBytesMax: 128 }): FrameBatch =>
  new FrameDecoder(limits).push(bytes(input));

describe('FrameDecoder accepts', () => {
  test('one frame', () => {
    expect(decodeAll(frame('{"a":1}'))).toEqual({ bodies: ['{"a":1}'], error: null });
  });

  test('several frames in one chunk, in order', () => {
    expect(decodeAll(frame('[1]') + frame('[2]') + frame('[3]'))).toEqual({
      bodies: ['[1]', '[2]', '[3]'],
      error: null,
    });
  });

  test('a frame split byte by byte', () => {
    const decoder = new FrameDecoder();
    const bodies: string[] = [];
    for (const byte of bytes(frame('{"text":"héllo 👋"}'))) {
      const batch = decoder.push(Uint8Array.of(byte));
      expect(batch.error).toBeNull();
      bodies.push(...batch.bodies);
    }
    expect(bodies).toEqual(['{"text":"héllo 👋"}']);
    expect(decoder.end()).toBeNull();
  });

  test('header names in any case, Content-Type with utf-8, spaces around values', () => {
    const input = 'content-type:  application/vscode-jsonrpc; charset=utf-8 \r\nCONTENT-LENGTH:2\r\n\r\n{}';
    expect(decodeAll(input)).toEqual({ bodies: ['{}'], error: null });
  });

  test('a body of exactly messageBytesMax bytes', () => {
    const body = 'x'.repeat(1024);
    expect(decodeAll(frame(body))).toEqual({ bodies: [body], error: null });
  });

  test('a header section of exactly headerBytesMax bytes', () => {
    const header = 'Content-Length: 2\r\n\r\n';
    const limits = { messageBytesMax: 16, headerBytesMax: header.length };
    expect(decodeAll(`${header}{}`, limits)).toEqual({ bodies: ['{}'], error: null });
  });
});

describe('FrameDecoder refuses', () => {
  const cases: readonly { name: string; input: string; code: string }[] = [
    { name: 'junk before the header', input: `hello\r\n${frame('{}')}`, code: 'malformedHeader' },
    { name: 'a leading newline', input: `\r\n${frame('{}')}`, code: 'missingContentLength' },
    { name: 'a bare LF line end', input: 'Content-Length: 2\n\n{}', code: 'malformedHeader' },
    { name: 'a lone CR', input: 'Content-Length: 2\rX', code: 'malformedHeader' },
    { name: 'a non-ASCII header byte', input: 'Content-Léngth: 2\r\n\r\n{}', code: 'malformedHeader' },
    { name: 'a NUL in the header', input: 'Content-Length: 2\u0000\r\n\r\n{}', code: 'malformedHeader' },
    { name: 'a line without a colon', input: 'Content-Length 2\r\n\r\n{}', code: 'malformedHeader' },
    { name: 'a space before the colon', input: 'Content-Length : 2\r\n\r\n{}', code: 'malformedHeader' },
    { name: 'an unknown header', input: 'X-Trace: 1\r\nContent-Length: 2\r\n\r\n{}', code: 'unsupportedHeader' },
    {
      name: 'Content-Encoding',
      input: 'Content-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}',
      code: 'unsupportedHeader',
    },
    {
      name: 'a repeated Content-Length',
      input: 'Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}',
      code: 'duplicateHeader',
    },
    {
      name: 'a repeated Content-Type',
      input: 'Content-Type: application/json\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      code: 'duplicateHeader',
    },
    { name: 'no Content-Length', input: 'Content-Type: application/json\r\n\r\n{}', code: 'missingContentLength' },
    { name: 'a negative length', input: 'Content-Length: -2\r\n\r\n{}', code: 'invalidContentLength' },
    { name: 'a signed length', input: 'Content-Length: +2\r\n\r\n{}', code: 'invalidContentLength' },
    { name: 'a leading zero', input: 'Content-Length: 02\r\n\r\n{}', code: 'invalidContentLength' },
    { name: 'a fractional length', input: 'Content-Length: 2.0\r\n\r\n{}', code: 'invalidContentLength' },
    { name: 'a hex length', input: 'Content-Length: 0x2\r\n\r\n{}', code: 'invalidContentLength' },
    { name: 'a zero length', input: 'Content-Length: 0\r\n\r\n', code: 'invalidContentLength' },
    { name: 'a length with eleven digits', input: 'Content-Length: 10000000000\r\n\r\n', code: 'invalidContentLength' },
    { name: 'a length over the cap', input: 'Content-Length: 1025\r\n\r\n', code: 'messageTooLarge' },
    { name: 'a huge header', input: `Content-Length: 2\r\n${'A'.repeat(200)}`, code: 'headerTooLarge' },
    {
      name: 'a latin-1 charset',
      input: 'Content-Type: application/json; charset=latin1\r\nContent-Length: 2\r\n\r\n{}',
      code: 'unsupportedContentType',
    },
    {
      name: 'another media type',
      input: 'Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}',
      code: 'unsupportedContentType',
    },
    { name: 'an invalid UTF-8 body', input: 'Content-Length: 2\r\n\r\n\u00ff\u00ff', code: 'invalidUtf8' },
  ];
  for (const { name, input, code } of cases) {
    test(name, () => {
      const encoded =
        name === 'an invalid UTF-8 body'
          ? Uint8Array.of(...bytes('Content-Length: 2\r\n\r\n'), 0xff, 0xfe)
          : bytes(input);
      const batch = new FrameDecoder({ messageBytesMax: 1024, headerBytesMax: 128 }).push(encoded);
      expect(batch.bodies).toEqual([]);
      expect(batch.error?.code).toBe(code);
      expect(batch.error?.message).toMatch(/\S/);
    });
  }

  test('an oversize length before a single body byte arrives', () => {
    const decoder = new FrameDecoder({ messageBytesMax: 1024, headerBytesMax: 128 });
    const batch = decoder.push(bytes('Content-Length: 999999\r\n'));
    expect(batch).toEqual({
      bodies: [],
      error: { code: 'messageTooLarge', message: 'message of 999999 bytes is over messageBytesMax (1024)' },
    });
    expect(decoder.bufferedBytes).toBe(0);
  });

  test('a huge header before its end arrives, holding at most headerBytesMax bytes', () => {
    const decoder = new FrameDecoder({ messageBytesMax: 1024, headerBytesMax: 64 });
    expect(decoder.push(bytes('Content-Length: 2\r\nContent-Type: application/json'))).toEqual({
      bodies: [],
      error: null,
    });
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(64);
    expect(decoder.push(bytes('; charset=utf-8\r\n')).error?.code).toBe('headerTooLarge');
  });

  test('everything after the first error, and keeps the frames completed before it', () => {
    const decoder = new FrameDecoder();
    const batch = decoder.push(bytes(`${frame('[1]')}garbage\r\n${frame('[2]')}`));
    expect(batch.bodies).toEqual(['[1]']);
    expect(batch.error?.code).toBe('malformedHeader');
    expect(decoder.push(bytes(frame('[3]')))).toEqual({ bodies: [], error: batch.error });
    expect(decoder.end()).toEqual(batch.error);
  });

  test('a stream that ends inside a header or a body', () => {
    const inHeader = new FrameDecoder();
    inHeader.push(bytes('Content-Len'));
    expect(inHeader.end()).toEqual({ code: 'truncatedFrame', message: 'stream ended inside a header of 11 bytes' });
    const inBody = new FrameDecoder();
    inBody.push(bytes('Content-Length: 10\r\n\r\n{"a"'));
    expect(inBody.end()).toEqual({ code: 'truncatedFrame', message: 'stream ended after 4 of 10 body bytes' });
  });

  test('limits that cannot frame anything', () => {
    expect(() => new FrameDecoder({ messageBytesMax: 0, headerBytesMax: 64 })).toThrow(RangeError);
  });
});

describe('encodeFrame', () => {
  test('writes Content-Length in bytes, not characters', () => {
    const result = encodeFrame('"é👋"');
    expect(result.ok && new TextDecoder().decode(result.frame)).toBe('Content-Length: 8\r\n\r\n"é👋"');
  });

  test('refuses a body over the cap instead of splitting it', () => {
    expect(encodeFrame('x'.repeat(11), 10)).toEqual({
      ok: false,
      error: { code: 'messageTooLarge', message: 'message of 11 bytes is over messageBytesMax (10)' },
    });
  });

  test('refuses an empty body', () => {
    expect(encodeFrame('')).toEqual({
      ok: false,
      error: { code: 'invalidContentLength', message: 'a frame body must not be empty' },
    });
  });

  test('round-trips through the decoder at the default limits', () => {
    const body = JSON.stringify({ text: 'x'.repeat(Limits.headerBytesMax * 4) });
    const result = encodeFrame(body);
    expect(result.ok).toBe(true);
    if (result.ok) expect(new FrameDecoder().push(result.frame)).toEqual({ bodies: [body], error: null });
  });
});
