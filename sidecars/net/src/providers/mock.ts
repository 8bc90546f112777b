import { createHash } from 'node:crypto';
import type { CallContext } from '../call-context.js';
import type {
  CompleteParams,
  CompleteResult,
  EmbedParams,
  EmbedResult,
  RerankParams,
  RerankResult,
} from './provider-types.js';
import { completion } from './provider-types.js';

/** Dimensions of a mock embedding vector. */
export const mockEmbeddingDimensions = 8;

/** A rough token count (four UTF-16 code units a token), the same on every run. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Splits text into word-sized pieces for streaming; the pieces join back to the text. */
export function streamPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Streams `text` to the context's listener in word-sized pieces. */
export function streamText(text: string, context: CallContext): void {
  if (context.onTextDelta === undefined) return;
  for (const piece of streamPieces(text)) context.onTextDelta(piece);
}

/**
 * The offline default: a deterministic completion derived from the last message. The same
 * messages always give the same reply, usage and finish reason; nothing leaves the process.
 */
export function mockComplete(params: CompleteParams, context: CallContext): CompleteResult {
  const last = params.messages[params.messages.length - 1];
  const quoted = Array.from(last?.content ?? '')
    .slice(0, 200)
    .join('');
  const content = `Mock reply to ${last?.role ?? 'nothing'}: ${quoted}`;
  streamText(content, context);
  const inputTokens = params.messages.reduce((sum, message) => sum + estimateTokens(message.content), 0);
  return completion(content, [], 'stop', { inputTokens, outputTokens: estimateTokens(content) });
}

/** Deterministic unit vectors derived from a hash of model and input. */
export function mockEmbed(params: EmbedParams): EmbedResult {
  const embeddings = params.inputs.map((input) => {
    const digest = createHash('sha256').update(`${params.model}\0${input}`).digest();
    const raw = Array.from(digest.subarray(0, mockEmbeddingDimensions), (byte) => byte / 127.5 - 1);
    const norm = Math.hypot(...raw) || 1;
    return raw.map((value) => value / norm);
  });
  const inputTokens = params.inputs.reduce((sum, input) => sum + estimateTokens(input), 0);
  return { embeddings, usage: { inputTokens } };
}

function words(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []);
}

/** Orders documents by the share of query words they contain; ties keep document order. */
export function mockRerank(params: RerankParams): RerankResult {
  const query = words(params.query);
  const scored = params.documents.map((document, index) => {
    const found = words(document);
    let hits = 0;
    for (const word of query) if (found.has(word)) hits++;
    return { index, score: query.size === 0 ? 0 : hits / query.size };
  });
  scored.sort((left, right) => right.score - left.score || left.index - right.index);
  return { results: scored.slice(0, params.topN ?? scored.length) };
}
