/**
 * The OpenAI-compatible provider against a real HTTP server on loopback that speaks the chat
 * completions wire format: streamed text and tool calls (fragments split across TCP writes and
 * SSE lines), a plain JSON answer, and every failure the HTTP layer must handle — 429 with
 * Retry-After, 5xx retried and exhausted, malformed JSON, a stalled body, an oversized body, a
 * redirect — plus the endpoint rules for providers that are not local.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { NetService } from '../src/net-service.js';
import type { CompleteParams } from '../src/providers/provider-types.js';
import { failureOf } from './failure.js';
import type { Handler, LoopbackServer } from './loopback-server.js';
import { pause, sendJson, startEvents, startLoopbackServer, writePieces } from './loopback-server.js';
import { testConfig } from './test-config.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(handler: Handler, limits = {}): Promise<{ server: LoopbackServer; service: NetService }> {
  const server = await startLoopbackServer(handler);
  const service = new NetService(testConfig(server.origin, limits));
  cleanups.push(
    () => service.close(),
    () => server.close(),
  );
  return { server, service };
}

const ask: CompleteParams = {
  provider: 'local-openai',
  model: 'gpt-test',
  apiKey: 'sk-loopback-1234',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Read src/sum.ts.' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'call_0', name: 'readFile', arguments: '{"path":"a"}' }] },
    { role: 'tool', toolCallId: 'call_0', content: 'export {}' },
  ],
  tools: [{ name: 'readFile', description: 'Read a file.', inputSchema: { type: 'object' } }],
  maxTokens: 64,
  temperature: 0,
};

function chunk(delta: unknown, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

const okBody = {
  choices: [{ index: 0, message: { role: 'assistant', content: 'Fixed.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 3 },
};

describe('openai-compatible completion', () => {
  test('a plain answer: request shape, headers and result', async () => {
    const { server, service } = await setup((_request, response) => sendJson(response, 200, okBody));
    expect(await service.complete(ask)).toEqual({
      message: { role: 'assistant', content: 'Fixed.' },
      usage: { inputTokens: 12, outputTokens: 3 },
      finishReason: 'stop',
    });
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers['authorization']).toBe('Bearer sk-loopback-1234');
    expect(request?.body).toEqual({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Read src/sum.ts.' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'readFile', arguments: '{"path":"a"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_0', content: 'export {}' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'readFile', description: 'Read a file.', parameters: { type: 'object' } },
        },
      ],
      max_tokens: 64,
      temperature: 0,
    });
  });

  test('streamed text arrives as deltas in order, and the result holds all of it', async () => {
    const { server, service } = await setup(async (_request, response) => {
      startEvents(response);
      const events = [
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Grüße ' }),
        chunk({ content: '👋🏽 ' }),
        chunk({ content: 'done' }),
        chunk({}, 'stop'),
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 4 } })}\n\n`,
        'data: [DONE]\n\n',
      ].join('');
      // Split at arbitrary byte offsets, including inside a multi-byte character and a CRLF-free line.
      const bytes = Buffer.from(events);
      const pieces: string[] = [];
      for (let offset = 0; offset < bytes.length; offset += 13)
        pieces.push(bytes.subarray(offset, offset + 13).toString('latin1'));
      for (const piece of pieces) {
        response.write(Buffer.from(piece, 'latin1'));
        await pause(1);
      }
      response.end();
    });
    const deltas: string[] = [];
    const result = await service.complete({ ...ask, stream: true }, { onTextDelta: (text) => deltas.push(text) });
    expect(deltas).toEqual(['Grüße ', '👋🏽 ', 'done']);
    expect(result).toEqual({
      message: { role: 'assistant', content: 'Grüße 👋🏽 done' },
      usage: { inputTokens: 7, outputTokens: 4 },
      finishReason: 'stop',
    });
    expect(server.requests[0]?.headers['accept']).toBe('text/event-stream');
    expect(server.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  test('streamed tool calls are assembled by index from fragments across chunks', async () => {
    const { service } = await setup(async (_request, response) => {
      startEvents(response);
      await writePieces(response, [
        chunk({
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'read', arguments: '' } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"pa' } }] }),
        chunk({
          tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'list', arguments: '{}' } }],
        }),
        // One SSE event split in the middle of its data line, across two writes.
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'th":"src/a.ts"}' } }] }).slice(0, 20),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'th":"src/a.ts"}' } }] }).slice(20),
        chunk({}, 'tool_calls'),
        'data: [DONE]\n\n',
      ]);
      response.end();
    });
    expect(await service.complete({ ...ask, stream: true })).toEqual({
      message: {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_a', name: 'read', arguments: '{"path":"src/a.ts"}' },
          { id: 'call_b', name: 'list', arguments: '{}' },
        ],
      },
      usage: { inputTokens: 0, outputTokens: 0 },
      finishReason: 'toolCalls',
    });
  });

  test('a stream that ends before it finished fails the call', async () => {
    const { service } = await setup(async (_request, response) => {
      startEvents(response);
      await writePieces(response, [chunk({ content: 'half' })]);
      response.end();
    });
    expect(await failureOf(service.complete({ ...ask, stream: true }))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' ended the stream before it finished the completion",
    });
  });

  test('429 with Retry-After in seconds is waited out, then the call succeeds', async () => {
    const statuses: string[] = [];
    const { server, service } = await setup((_request, response, attempt) => {
      if (attempt === 0) return sendJson(response, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
      sendJson(response, 200, okBody);
    });
    const result = await service.complete(ask, { onStatus: (message) => statuses.push(message) });
    expect(result.message.content).toBe('Fixed.');
    expect(server.requests).toHaveLength(2);
    expect(statuses).toEqual(["provider 'local-openai' answered HTTP 429; retrying in 1000 ms (retry 1 of 2)"]);
  });

  test('503 with Retry-After as an HTTP date is honoured', async () => {
    const statuses: string[] = [];
    const { service } = await setup((_request, response, attempt) => {
      if (attempt === 0)
        return sendJson(response, 503, {}, { 'retry-after': new Date(Date.now() - 5_000).toUTCString() });
      sendJson(response, 200, okBody);
    });
    await service.complete(ask, { onStatus: (message) => statuses.push(message) });
    expect(statuses).toEqual(["provider 'local-openai' answered HTTP 503; retrying in 0 ms (retry 1 of 2)"]);
  });

  test('a Retry-After longer than retryAfterMsMax fails at once', async () => {
    const { server, service } = await setup((_request, response) =>
      sendJson(response, 429, {}, { 'retry-after': '3600' }),
    );
    expect(await failureOf(service.complete(ask))).toEqual({
      code: 'sidecarFailure',
      message:
        "provider 'local-openai' answered HTTP 429 and asked to retry after 3600 s, more than retryAfterMsMax (5000 ms): no details",
    });
    expect(server.requests).toHaveLength(1);
  });

  test('5xx then success is retried', async () => {
    const { server, service } = await setup((_request, response, attempt) =>
      attempt < 2 ? sendJson(response, 502, { error: 'bad gateway' }) : sendJson(response, 200, okBody),
    );
    expect((await service.complete(ask)).message.content).toBe('Fixed.');
    expect(server.requests).toHaveLength(3);
  });

  test('5xx exhausts the retries and fails with the provider message', async () => {
    const { server, service } = await setup((_request, response) =>
      sendJson(response, 500, { error: { message: 'boom' } }),
    );
    expect(await failureOf(service.complete(ask))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' answered HTTP 500 after 2 retries: boom",
    });
    expect(server.requests).toHaveLength(3);
  });

  test('a 4xx other than 429 is never retried', async () => {
    const { server, service } = await setup((_request, response) =>
      sendJson(response, 401, { error: { message: 'bad key' } }),
    );
    expect(await failureOf(service.complete(ask))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' answered HTTP 401: bad key",
    });
    expect(server.requests).toHaveLength(1);
  });

  test('malformed JSON fails the call', async () => {
    const { service } = await setup((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"choices": [');
    });
    expect(await failureOf(service.complete(ask))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' sent a response that is not JSON",
    });
  });

  test('a malformed stream event fails the call', async () => {
    const { service } = await setup(async (_request, response) => {
      startEvents(response);
      await writePieces(response, ['data: {not json}\n\n']);
      response.end();
    });
    expect(await failureOf(service.complete({ ...ask, stream: true }))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' sent a stream event that is not JSON",
    });
  });

  test('a body that stalls past bodyTimeoutMs times out and the connection is closed', async () => {
    const { server, service } = await setup(async (_request, response) => {
      startEvents(response);
      await writePieces(response, [chunk({ content: 'slow' })]);
      // Then nothing: the client must give up after bodyTimeoutMs.
    });
    expect(await failureOf(service.complete({ ...ask, stream: true }))).toEqual({
      code: 'timeout',
      message: "provider 'local-openai' stalled: no body data for bodyTimeoutMs (300 ms)",
    });
    await server.clientClosedEarly;
  });

  test('a stream that keeps trickling past callTimeoutMs times out', async () => {
    const { server, service } = await setup(
      async (_request, response) => {
        startEvents(response);
        for (let index = 0; index < 100 && !response.destroyed; index++)
          await writePieces(response, [chunk({ content: '.' })]);
      },
      { callTimeoutMs: 250 },
    );
    expect(await failureOf(service.complete({ ...ask, stream: true }))).toEqual({
      code: 'timeout',
      message: "provider 'local-openai' did not finish within callTimeoutMs (250 ms)",
    });
    await server.clientClosedEarly;
  });

  test('a body over responseBytesMax is aborted', async () => {
    const { server, service } = await setup(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const block = 'x'.repeat(16 * 1024);
      for (let index = 0; index < 64 && !response.destroyed; index++) {
        response.write(block);
        await pause(1);
      }
      response.end();
    });
    expect(await failureOf(service.complete(ask))).toEqual({
      code: 'contentTooLarge',
      message: "provider 'local-openai' sent more than responseBytesMax (65536 bytes); aborted",
    });
    await server.clientClosedEarly;
  });

  test('a declared Content-Length over responseBytesMax is refused before reading', async () => {
    const { service } = await setup((_request, response) => sendJson(response, 200, { pad: 'y'.repeat(70 * 1024) }));
    expect((await failureOf(service.complete(ask))).code).toBe('contentTooLarge');
  });

  test('a redirect is not followed', async () => {
    const { server, service } = await setup((_request, response) => {
      response.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' });
      response.end();
    });
    expect(await failureOf(service.complete(ask))).toEqual({
      code: 'sidecarFailure',
      message:
        "provider 'local-openai' answered with a redirect (HTTP 307); redirects are not followed, so set baseUrl to the final URL",
    });
    expect(server.requests).toHaveLength(1);
  });

  test('connection refused is retried, then reported', async () => {
    const service = new NetService(testConfig('http://127.0.0.1:1'));
    cleanups.push(() => service.close());
    expect(await failureOf(service.complete(ask))).toEqual({
      code: 'sidecarFailure',
      message: "could not reach provider 'local-openai' (ECONNREFUSED)",
    });
  });
});

describe('endpoint rules', () => {
  test('a provider that is not local is refused on loopback, private and link-local addresses', async () => {
    const { server, service } = await setup((_request, response) => sendJson(response, 200, okBody));
    const port = new URL(server.origin).port;
    const remote = { ...ask, provider: 'openai-compatible' };
    const refusals = await Promise.all(
      [
        `https://127.0.0.1:${port}/v1`,
        'https://10.1.2.3/v1',
        'https://169.254.169.254/v1',
        'https://[::1]/v1',
        'https://[::ffff:7f00:1]/v1',
        'https://localhost/v1',
      ].map((baseUrl) => failureOf(service.complete({ ...remote, baseUrl }))),
    );
    expect(refusals.map((refusal) => refusal.code)).toEqual(Array(6).fill('invalidParams'));
    expect(refusals[0]?.message).toBe(
      "provider 'openai-compatible': 127.0.0.1 is a loopback, private or link-local address; only a provider configured as local may use one",
    );
    expect(await failureOf(service.complete({ ...remote, baseUrl: `${server.origin}/v1` }))).toEqual({
      code: 'invalidParams',
      message:
        "provider 'openai-compatible': baseUrl must use https (http is allowed only for a provider configured as local)",
    });
    expect(await failureOf(service.complete({ ...remote, baseUrl: 'https://user:pw@example.com/v1' }))).toEqual({
      code: 'invalidParams',
      message: "provider 'openai-compatible': baseUrl must not carry credentials",
    });
    expect(server.requests).toHaveLength(0);
  });

  test('a host name that resolves to loopback is refused when the connection opens', async () => {
    const { server, service } = await setup((_request, response) => sendJson(response, 200, okBody));
    const port = new URL(server.origin).port;
    // `localhost.` is not caught by the name rule, so only the connect-time lookup can refuse it.
    const refusal = await failureOf(
      service.complete({ ...ask, provider: 'openai-compatible', baseUrl: `https://localhost.:${port}/v1` }),
    );
    expect(refusal.code).toBe('invalidParams');
    expect(server.requests).toHaveLength(0);
  });

  test('an unknown provider and an offline sidecar are refused', async () => {
    const offline = new NetService({ ...testConfig('http://127.0.0.1:1'), offline: true });
    cleanups.push(() => offline.close());
    expect(await failureOf(offline.complete({ ...ask, provider: 'nope' }))).toMatchObject({ code: 'invalidParams' });
    expect(await failureOf(offline.complete(ask))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' needs the network, and this net sidecar runs offline",
    });
    expect((await offline.complete({ ...ask, provider: 'mock' })).finishReason).toBe('stop');
  });
});
