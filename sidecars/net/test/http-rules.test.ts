/**
 * The HTTP layer's pure rules: which addresses count as not public, how `Retry-After` and the
 * backoff are computed, and that the SSE parser yields the same events however the byte stream is
 * split (a fast-check property), with a bound on event size.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isNonPublicAddress } from '../src/http/address-policy.js';
import { checkEndpoint } from '../src/http/endpoint.js';
import { backoffDelayMs, retryAfterMs } from '../src/http/retry-policy.js';
import { SseParser } from '../src/http/sse-parser.js';
import type { SseEvent } from '../src/http/sse-parser.js';
import { redact } from '../src/net-failure.js';
import { fastLimits } from './test-config.js';

describe('address policy', () => {
  test('loopback, private, link-local and special ranges are not public; public unicast is', () => {
    const nonPublic = [
      '127.0.0.1',
      '127.255.0.9',
      '10.0.0.1',
      '172.16.5.5',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'fc12::3',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      'not-an-ip',
    ];
    const publicOnes = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'];
    expect(nonPublic.filter((address) => !isNonPublicAddress(address))).toEqual([]);
    expect(publicOnes.filter((address) => isNonPublicAddress(address))).toEqual([]);
  });

  test('a local provider may use http and loopback; query and fragment are refused for everyone', () => {
    expect(checkEndpoint('http://127.0.0.1:8080/v1/', true, 'ollama').baseUrl.href).toBe('http://127.0.0.1:8080/v1/');
    expect(() => checkEndpoint('https://api.example.com/v1?x=1', false, 'p')).toThrow(
      'must not carry a query or fragment',
    );
    expect(() => checkEndpoint('ftp://example.com', true, 'p')).toThrow('must use https');
  });
});

describe('retry policy', () => {
  test('Retry-After as seconds, as an HTTP date, and unreadable', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7_000);
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect([
      retryAfterMs(undefined, now),
      retryAfterMs('soon', now),
      retryAfterMs('-1', now),
      retryAfterMs('1.5', now),
    ]).toEqual([null, null, null, null]);
  });

  test('backoff doubles, keeps half the step, and is capped', () => {
    const limits = { ...fastLimits, retryBaseDelayMs: 100, retryDelayMsMax: 1_000 };
    expect([0, 1, 2, 3, 10].map((retry) => backoffDelayMs(retry, limits, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([0, 1, 2, 3, 10].map((retry) => backoffDelayMs(retry, limits, () => 0.999999))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });
});

describe('SSE parser', () => {
  function parseAll(pieces: readonly string[]): SseEvent[] {
    const parser = new SseParser(1024);
    return [...pieces.flatMap((piece) => parser.push(piece)), ...parser.end()];
  }

  test('fields, comments, multi-line data, CR, LF and CRLF line ends', () => {
    expect(
      parseAll([': comment\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\ndata: x\rid: 5\r\rdata: [DONE]\n\ndata: lost']),
    ).toEqual([
      { event: 'a', data: 'one\ntwo' },
      { event: 'message', data: 'x' },
      { event: 'message', data: '[DONE]' },
    ]);
  });

  test('any split of a stream gives the same events', () => {
    const line = fc.stringMatching(/^[^\r\n]{0,12}$/);
    const eventText = fc.tuple(
      fc.option(line, { nil: undefined }),
      fc.array(line, { minLength: 1, maxLength: 3 }),
      fc.constantFrom('\n', '\r\n', '\r'),
    );
    fc.assert(
      fc.property(fc.array(eventText, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (events, cuts) => {
        const text = events
          .map(
            ([name, data, end]) =>
              `${name === undefined ? '' : `event:${name}${end}`}${data.map((d) => `data:${d}${end}`).join('')}${end}`,
          )
          .join('');
        const positions = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        const pieces: string[] = [];
        let start = 0;
        for (const position of positions) {
          pieces.push(text.slice(start, position));
          start = position;
        }
        pieces.push(text.slice(start));
        expect(parseAll(pieces)).toEqual(parseAll([text]));
      }),
    );
  });

  test('an event over the bound fails instead of growing', () => {
    const parser = new SseParser(16);
    expect(() => parser.push(`data: ${'x'.repeat(20)}\n`)).toThrow('longer than 16 characters');
    expect(() => new SseParser(16).push('data: '.padEnd(40, 'y'))).toThrow('stream line longer than 16 characters');
  });
});

test('redact removes a key and its encodings', () => {
  const key = 'sk-live/abc+def';
  const text = `a ${key} b ${encodeURIComponent(key)} c ${Buffer.from(key).toString('base64')} d ${Buffer.from(key).toString('hex')}`;
  expect(redact(text, key)).toBe('a [REDACTED:apiKey] b [REDACTED:apiKey] c [REDACTED:apiKey] d [REDACTED:apiKey]');
  expect(redact(text, undefined)).toBe(text);
});
