import type { ParamsOf, ResultOf } from '@crustcore/protocol';
import type { Endpoint } from '../http/endpoint.js';

/** `net/complete` params as validated by the protocol schema. */
export type CompleteParams = ParamsOf<'net/complete'>;
/** `net/complete` result. */
export type CompleteResult = ResultOf<'net/complete'>;
/** `net/embed` params. */
export type EmbedParams = ParamsOf<'net/embed'>;
/** `net/embed` result. */
export type EmbedResult = ResultOf<'net/embed'>;
/** `net/rerank` params. */
export type RerankParams = ParamsOf<'net/rerank'>;
/** `net/rerank` result. */
export type RerankResult = ResultOf<'net/rerank'>;
/** One tool call of an assistant message. */
export type ToolCall = NonNullable<CompleteResult['message']['toolCalls']>[number];
/** Why the model stopped. */
export type FinishReason = CompleteResult['finishReason'];

/** A network provider call's destination: the provider's name, where it lives, and the key for this call. */
export interface RemoteTarget {
  readonly provider: string;
  readonly endpoint: Endpoint;
  /** The call's API key, when it has one. Lives only as long as the call. */
  readonly apiKey: string | undefined;
}

/** Builds a result whose `toolCalls` key is present only when there are tool calls. */
export function completion(
  content: string,
  toolCalls: readonly ToolCall[],
  finishReason: FinishReason,
  usage: CompleteResult['usage'],
): CompleteResult {
  return {
    message:
      toolCalls.length === 0
        ? { role: 'assistant', content }
        : { role: 'assistant', content, toolCalls: [...toolCalls] },
    usage,
    finishReason,
  };
}

/** A non-negative integer token count from a provider field, or 0. */
export function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}
