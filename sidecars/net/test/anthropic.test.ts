/**
 * The Anthropic provider against a real loopback server that speaks the Messages wire format:
 * the request shape and headers, a plain answer, a stream of text and tool_use blocks with
 * input_json_delta fragments, an `error` event mid-stream, and a stream cut before message_stop.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { NetService } from '../src/net-service.js';
import type { CompleteParams } from '../src/providers/provider-types.js';
import { failureOf } from './failure.js';
import type { Handler, LoopbackServer } from './loopback-server.js';
import { sendJson, startEvents, startLoopbackServer, writePieces } from './loopback-server.js';
import { testConfig } from './test-config.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(handler: Handler): Promise<{ server: LoopbackServer; service: NetService }> {
  const server = await startLoopbackServer(handler);
  const service = new NetService(testConfig(server.origin));
  cleanups.push(
    () => service.close(),
    () => server.close(),
  );
  return { server, service };
}

const ask: CompleteParams = {
  provider: 'local-anthropic',
  model: 'claude-test',
  apiKey: 'sk-ant-loopback',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Read a.ts' },
    {
      role: 'assistant',
      content: 'Reading.',
      toolCalls: [{ id: 'toolu_1', name: 'read', arguments: '{"path":"a.ts"}' }],
    },
    { role: 'tool', toolCallId: 'toolu_1', content: 'export {}' },
    { role: 'user', content: 'Now fix it.' },
  ],
  tools: [{ name: 'read', inputSchema: { type: 'object' } }],
};

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

describe('anthropic completion', () => {
  test('a plain answer: headers, request shape and result', async () => {
    const { server, service } = await setup((_request, response) =>
      sendJson(response, 200, {
        type: 'message',
        role: 'assistant',
        content: [
          { type: 'text', text: 'Done.' },
          { type: 'tool_use', id: 'toolu_2', name: 'write', input: { path: 'a.ts' } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 20, output_tokens: 9 },
      }),
    );
    expect(await service.complete(ask)).toEqual({
      message: {
        role: 'assistant',
        content: 'Done.',
        toolCalls: [{ id: 'toolu_2', name: 'write', arguments: '{"path":"a.ts"}' }],
      },
      usage: { inputTokens: 20, outputTokens: 9 },
      finishReason: 'toolCalls',
    });
    const [request] = server.requests;
    expect(request?.path).toBe('/v1/messages');
    expect(request?.headers['x-api-key']).toBe('sk-ant-loopback');
    expect(request?.headers['anthropic-version']).toBe('2023-06-01');
    expect(request?.headers['authorization']).toBeUndefined();
    expect(request?.body).toEqual({
      model: 'claude-test',
      max_tokens: 4096,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Read a.ts' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Reading.' },
            { type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: 'a.ts' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'export {}' },
            { type: 'text', text: 'Now fix it.' },
          ],
        },
      ],
      tools: [{ name: 'read', input_schema: { type: 'object' } }],
    });
  });

  test('a streamed answer: text deltas, tool_use assembled from input_json_delta, usage and stop reason', async () => {
    const { service } = await setup(async (_request, response) => {
      startEvents(response);
      const toolDelta = event('content_block_delta', {
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '"a.ts"}' },
      });
      await writePieces(response, [
        event('message_start', {
          message: { id: 'msg_1', role: 'assistant', content: [], usage: { input_tokens: 25, output_tokens: 1 } },
        }),
        event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        event('ping', {}),
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Let me ' } }),
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'look.' } }),
        event('content_block_stop', { index: 0 }),
        event('content_block_start', {
          index: 1,
          content_block: { type: 'tool_use', id: 'toolu_9', name: 'read', input: {} },
        }),
        event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
        event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"path": ' } }),
        toolDelta.slice(0, 31),
        toolDelta.slice(31),
        event('content_block_stop', { index: 1 }),
        event('message_delta', {
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { output_tokens: 42 },
        }),
        event('message_stop', {}),
      ]);
      response.end();
    });
    const deltas: string[] = [];
    expect(await service.complete({ ...ask, stream: true }, { onTextDelta: (text) => deltas.push(text) })).toEqual({
      message: {
        role: 'assistant',
        content: 'Let me look.',
        toolCalls: [{ id: 'toolu_9', name: 'read', arguments: '{"path": "a.ts"}' }],
      },
      usage: { inputTokens: 25, outputTokens: 42 },
      finishReason: 'toolCalls',
    });
    expect(deltas).toEqual(['Let me ', 'look.']);
  });

  test('an error event mid-stream fails the call with its type and message', async () => {
    const { service } = await setup(async (_request, response) => {
      startEvents(response);
      await writePieces(response, [
        event('message_start', { message: { usage: { input_tokens: 1, output_tokens: 1 } } }),
        event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
      ]);
      response.end();
    });
    expect(await failureOf(service.complete({ ...ask, stream: true }))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-anthropic' reported overloaded_error mid-stream: Overloaded",
    });
  });

  test('a stream cut before message_stop fails the call', async () => {
    const { service } = await setup(async (_request, response) => {
      startEvents(response);
      await writePieces(response, [event('message_start', { message: { usage: {} } })]);
      response.end();
    });
    expect(await failureOf(service.complete({ ...ask, stream: true }))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-anthropic' ended the stream before message_stop",
    });
  });

  test('anthropic offers no embeddings', async () => {
    const { service } = await setup((_request, response) => sendJson(response, 500, {}));
    expect((await failureOf(service.embed({ provider: 'local-anthropic', model: 'm', inputs: ['a'] }))).code).toBe(
      'invalidParams',
    );
  });
});
