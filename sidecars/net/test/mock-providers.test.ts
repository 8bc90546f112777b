/**
 * The offline providers: `mock` is deterministic (same input, same output; nothing leaves the
 * process), and `scripted` replays its turns in order, checks each turn's expectation, streams
 * the text, and fails clearly when a turn's expectation does not hold or the script runs out.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { validateResult } from '@crustcore/protocol';
import { builtInProviders } from '../src/net-config.js';
import { NetService } from '../src/net-service.js';
import { parseScript } from '../src/providers/scripted.js';
import { failureOf } from './failure.js';
import { fastLimits } from './test-config.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function scriptedService(script: unknown): NetService {
  const directory = mkdtempSync(join(tmpdir(), 'crustcore-net-script-'));
  directories.push(directory);
  const file = join(directory, 'script.json');
  writeFileSync(file, JSON.stringify(script));
  return new NetService({
    providers: { ...builtInProviders, scripted: { kind: 'scripted', local: true, script: file } },
    limits: fastLimits,
    offline: true,
  });
}

describe('mock', () => {
  test('completion, embedding and rerank are deterministic and valid', async () => {
    const service = new NetService();
    const params = {
      provider: 'mock',
      model: 'm',
      messages: [{ role: 'user' as const, content: 'Fix the failing test.' }],
    };
    const first = await service.complete(params);
    expect(first).toEqual({
      message: { role: 'assistant', content: 'Mock reply to user: Fix the failing test.' },
      usage: { inputTokens: 6, outputTokens: 11 },
      finishReason: 'stop',
    });
    expect(await service.complete(params)).toEqual(first);
    const embedded = await service.embed({ provider: 'mock', model: 'e', inputs: ['a', 'b', 'a'] });
    expect(embedded.embeddings[0]).toEqual(embedded.embeddings[2]);
    expect(embedded.embeddings[0]).not.toEqual(embedded.embeddings[1]);
    expect(validateResult('net/embed', embedded).ok).toBe(true);
    expect(
      await service.rerank({
        provider: 'mock',
        model: 'r',
        query: 'where is the parser',
        documents: ['README', 'src/parser.ts: the parser', 'is'],
        topN: 2,
      }),
    ).toEqual({
      results: [
        { index: 1, score: 0.5 },
        { index: 2, score: 0.25 },
      ],
    });
  });

  test('streamed pieces join back to the content', async () => {
    const pieces: string[] = [];
    const result = await new NetService().complete(
      {
        provider: 'mock',
        model: 'm',
        messages: [{ role: 'user', content: '  spaced   words\tand\nlines ' }],
        stream: true,
      },
      { onTextDelta: (text) => pieces.push(text) },
    );
    expect(pieces.join('')).toBe(result.message.content);
    expect(pieces.length).toBeGreaterThan(3);
  });
});

describe('scripted', () => {
  const script = {
    turns: [
      {
        expect: { role: 'user', contains: 'failing' },
        content: 'Reading.',
        toolCalls: [{ id: 'call_1', name: 'readFile', arguments: '{"path":"a.ts"}' }],
      },
      { expect: { role: 'tool' }, content: 'Fixed it.' },
    ],
  };

  test('turns are replayed in order with their tool calls', async () => {
    const service = scriptedService(script);
    const base = { provider: 'scripted', model: 'demo' };
    const user = { role: 'user' as const, content: 'Fix the failing test.' };
    const first = await service.complete({ ...base, messages: [user] });
    expect(first).toEqual({
      message: {
        role: 'assistant',
        content: 'Reading.',
        toolCalls: [{ id: 'call_1', name: 'readFile', arguments: '{"path":"a.ts"}' }],
      },
      usage: { inputTokens: 6, outputTokens: 2 },
      finishReason: 'toolCalls',
    });
    const second = await service.complete({
      ...base,
      messages: [user, first.message, { role: 'tool', toolCallId: 'call_1', content: 'export {}' }],
    });
    expect(second.message).toEqual({ role: 'assistant', content: 'Fixed it.' });
    expect(await failureOf(service.complete({ ...base, messages: [user] }))).toEqual({
      code: 'sidecarFailure',
      message: 'the model script has 2 turns and all were played',
    });
  });

  test('a turn whose expectation does not hold fails and is not consumed', async () => {
    const service = scriptedService(script);
    const call = service.complete({
      provider: 'scripted',
      model: 'demo',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(await failureOf(call)).toEqual({
      code: 'sidecarFailure',
      message: 'script turn 0 expected the last message to contain "failing", got "hello"',
    });
    expect(
      (
        await service.complete({
          provider: 'scripted',
          model: 'demo',
          messages: [{ role: 'user', content: 'failing' }],
        })
      ).message.content,
    ).toBe('Reading.');
  });

  test('a script whose turn breaks the result schema is refused', () => {
    expect(() => parseScript({ turns: [{ content: 'x', finishReason: 'done' }] })).toThrow(
      'turns[0]: net/complete result: finishReason',
    );
    expect(() => parseScript({ turns: [{ content: 'x', extra: 1 }] })).toThrow('turns[0].extra is not a known key');
  });
});
