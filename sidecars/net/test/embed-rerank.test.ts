/**
 * Embeddings and rerank against a loopback server with the OpenAI-shaped `/embeddings` and the
 * `/rerank` endpoints: vectors come back in input order whatever order the server used, rerank
 * results are ordered by score and cut at topN, and malformed answers fail the call.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { NetService } from '../src/net-service.js';
import { failureOf } from './failure.js';
import type { Handler, LoopbackServer } from './loopback-server.js';
import { sendJson, startLoopbackServer } from './loopback-server.js';
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

describe('embeddings', () => {
  test('vectors are returned in input order', async () => {
    const { server, service } = await setup((_request, response) =>
      sendJson(response, 200, {
        object: 'list',
        data: [
          { object: 'embedding', index: 1, embedding: [0.5, -0.5] },
          { object: 'embedding', index: 0, embedding: [1, 0] },
        ],
        usage: { prompt_tokens: 6, total_tokens: 6 },
      }),
    );
    expect(
      await service.embed({ provider: 'local-openai', model: 'emb', apiKey: 'k-1', inputs: ['first', 'second'] }),
    ).toEqual({
      embeddings: [
        [1, 0],
        [0.5, -0.5],
      ],
      usage: { inputTokens: 6 },
    });
    expect(server.requests[0]?.path).toBe('/v1/embeddings');
    expect(server.requests[0]?.body).toEqual({ model: 'emb', input: ['first', 'second'] });
  });

  test('a wrong number of vectors, or a vector with a string in it, fails the call', async () => {
    const { service } = await setup((request, response) =>
      sendJson(response, 200, {
        data:
          (request.body as { input: string[] }).input.length === 1
            ? []
            : [
                { index: 0, embedding: ['x'] },
                { index: 1, embedding: [1] },
              ],
      }),
    );
    expect(await failureOf(service.embed({ provider: 'local-openai', model: 'emb', inputs: ['a'] }))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' sent 0 embeddings for 1 inputs",
    });
    expect(await failureOf(service.embed({ provider: 'local-openai', model: 'emb', inputs: ['a', 'b'] }))).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' sent a malformed embedding at position 0",
    });
  });
});

describe('rerank', () => {
  test('results are ordered by score and cut at topN', async () => {
    const { server, service } = await setup((_request, response) =>
      sendJson(response, 200, {
        results: [
          { index: 0, relevance_score: 0.1 },
          { index: 2, relevance_score: 0.9 },
          { index: 1, relevance_score: 0.5 },
        ],
      }),
    );
    expect(
      await service.rerank({
        provider: 'local-openai',
        model: 'rr',
        query: 'parser',
        documents: ['a', 'b', 'c'],
        topN: 2,
      }),
    ).toEqual({
      results: [
        { index: 2, score: 0.9 },
        { index: 1, score: 0.5 },
      ],
    });
    expect(server.requests[0]?.path).toBe('/v1/rerank');
    expect(server.requests[0]?.body).toEqual({ model: 'rr', query: 'parser', documents: ['a', 'b', 'c'], top_n: 2 });
  });

  test('an index outside the documents fails the call', async () => {
    const { service } = await setup((_request, response) =>
      sendJson(response, 200, { results: [{ index: 5, relevance_score: 1 }] }),
    );
    expect(
      await failureOf(service.rerank({ provider: 'local-openai', model: 'rr', query: 'q', documents: ['a'] })),
    ).toEqual({
      code: 'sidecarFailure',
      message: "provider 'local-openai' sent a malformed rerank result at position 0",
    });
  });
});
