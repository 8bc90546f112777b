/** Envelope decoding: each JSON-RPC 2.0 shape is classified exactly, and every malformed one is refused. */
import { describe, expect, test } from 'vitest';
import { decodeEnvelope, ErrorCode, errorCodeName, isJsonDepthWithin, parseMessage } from '../src/jsonrpc.js';

describe('decodeEnvelope classifies', () => {
  test('a request with id 0', () => {
    expect(decodeEnvelope({ jsonrpc: '2.0', id: 0, method: '$/ping' })).toEqual({
      ok: true,
      message: { kind: 'request', id: 0, method: '$/ping', params: undefined },
    });
  });

  test('a notification', () => {
    expect(decodeEnvelope({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'a' } })).toEqual({
      ok: true,
      message: { kind: 'notification', method: '$/cancelRequest', params: { id: 'a' } },
    });
  });

  test('a result response, including a null result', () => {
    expect(decodeEnvelope({ jsonrpc: '2.0', id: 'x', result: null })).toEqual({
      ok: true,
      message: { kind: 'result', id: 'x', result: null },
    });
  });

  test('an error response with data and a null id', () => {
    expect(decodeEnvelope({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'bad', data: [1] } })).toEqual({
      ok: true,
      message: { kind: 'error', id: null, error: { code: -32700, message: 'bad', data: [1] } },
    });
  });
});

describe('decodeEnvelope refuses', () => {
  const cases: readonly [string, unknown, string | number | null][] = [
    ['a batch', [{ jsonrpc: '2.0', id: 1, method: 'a' }], null],
    ['a string', 'hello', null],
    ['null', null, null],
    ['a missing jsonrpc', { id: 1, method: 'a' }, 1],
    ['an unknown envelope key', { jsonrpc: '2.0', id: 1, method: 'a', extra: true }, 1],
    ['a negative id', { jsonrpc: '2.0', id: -1, method: 'a' }, null],
    ['a fractional id', { jsonrpc: '2.0', id: 1.5, method: 'a' }, null],
    ['a long string id', { jsonrpc: '2.0', id: 'x'.repeat(65), method: 'a' }, null],
    ['a null request id', { jsonrpc: '2.0', id: null, method: 'a' }, null],
    ['an empty method', { jsonrpc: '2.0', id: 1, method: '' }, 1],
    ['a long method', { jsonrpc: '2.0', id: 1, method: 'm'.repeat(65) }, 1],
    ['primitive params', { jsonrpc: '2.0', id: 1, method: 'a', params: 'x' }, 1],
    ['null params', { jsonrpc: '2.0', id: 1, method: 'a', params: null }, 1],
    ['a request with a result', { jsonrpc: '2.0', id: 1, method: 'a', result: 1 }, 1],
    ['a response with both result and error', { jsonrpc: '2.0', id: 1, result: 1, error: { code: 1, message: '' } }, 1],
    ['a response with neither', { jsonrpc: '2.0', id: 1 }, 1],
    ['a result with a null id', { jsonrpc: '2.0', id: null, result: 1 }, null],
    ['a message with neither id nor method', { jsonrpc: '2.0', result: 1 }, null],
    ['an error without a code', { jsonrpc: '2.0', id: 1, error: { message: 'x' } }, 1],
    ['an error with an extra key', { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x', stack: '' } }, 1],
    ['a long error message', { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x'.repeat(4097) } }, 1],
  ];
  for (const [name, value, id] of cases) {
    test(name, () => {
      const decoded = decodeEnvelope(value);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok)
        expect(decoded.error).toEqual({ code: ErrorCode.invalidRequest, message: expect.any(String), id });
    });
  }

  test('__proto__ as an envelope key', () => {
    expect(parseMessage('{"jsonrpc":"2.0","id":1,"method":"a","__proto__":{}}')).toEqual({
      ok: false,
      error: { code: ErrorCode.invalidRequest, message: "unknown envelope key '__proto__'", id: 1 },
    });
  });
});

describe('parseMessage', () => {
  test('reports bad JSON as a parse error', () => {
    const parsed = parseMessage('{"jsonrpc":');
    expect(parsed.ok === false && parsed.error.code).toBe(ErrorCode.parseError);
  });

  test('refuses nesting deeper than the limit without recursing', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseMessage(deep)).toEqual({
      ok: false,
      error: { code: ErrorCode.contentTooLarge, message: 'JSON nesting is deeper than 64', id: null },
    });
  });

  test('measures depth of objects and arrays alike', () => {
    expect(isJsonDepthWithin({ a: [{ b: 1 }] }, 3)).toBe(true);
    expect(isJsonDepthWithin({ a: [{ b: [] }] }, 3)).toBe(false);
    expect(isJsonDepthWithin('scalar', 0)).toBe(true);
  });
});

test('errorCodeName maps numbers back to names', () => {
  expect([errorCodeName(-32800), errorCodeName(-32010), errorCodeName(1)]).toEqual([
    'requestCancelled',
    'versionMismatch',
    undefined,
  ]);
});
