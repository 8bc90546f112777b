import * as z from 'zod/mini';
import { Limits } from '../limits.js';
import {
  boundedInt,
  NameSchema,
  nonEmptyString,
  ProgressTokenSchema,
  ProviderTargetShape,
  TextSchema,
  UsageSchema,
} from './common.js';

/** A tool call proposed by the model; `arguments` is the JSON text exactly as the model produced it. */
export const ToolCallSchema = z.strictObject({
  id: NameSchema,
  name: NameSchema,
  arguments: TextSchema,
});

/** A tool the model may call, described by a JSON Schema for its input. */
export const ToolDefinitionSchema = z.strictObject({
  name: NameSchema,
  description: z.optional(TextSchema),
  inputSchema: z.record(z.string().check(z.maxLength(Limits.nameLengthMax)), z.unknown()),
});

/** An assistant turn: text, tool calls, or both. */
export const AssistantMessageSchema = z.strictObject({
  role: z.literal('assistant'),
  content: TextSchema,
  toolCalls: z.optional(z.array(ToolCallSchema).check(z.maxLength(Limits.toolsMax))),
});

/** One chat message, discriminated by `role`. */
export const ChatMessageSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: TextSchema }),
  z.strictObject({ role: z.literal('user'), content: TextSchema }),
  AssistantMessageSchema,
  z.strictObject({ role: z.literal('tool'), toolCallId: NameSchema, content: TextSchema }),
]);

/**
 * `net/complete` params: one chat completion. With `stream` and a `progressToken`, text also
 * arrives early as `$/progress` reports carrying that token; the result still holds all of it.
 */
export const CompleteParamsSchema = z.strictObject({
  ...ProviderTargetShape,
  messages: z.array(ChatMessageSchema).check(z.minLength(1), z.maxLength(Limits.chatMessagesMax)),
  tools: z.optional(z.array(ToolDefinitionSchema).check(z.maxLength(Limits.toolsMax))),
  maxTokens: z.optional(boundedInt(1, Limits.tokensMax)),
  temperature: z.optional(z.number().check(z.minimum(0), z.maximum(2))),
  stream: z.optional(z.boolean()),
  progressToken: z.optional(ProgressTokenSchema),
});

/** Why the model stopped. */
export const FinishReasonSchema = z.enum(['stop', 'length', 'toolCalls', 'contentFilter']);

/** `net/complete` result: the whole assistant message, token usage and why the model stopped. */
export const CompleteResultSchema = z.strictObject({
  message: AssistantMessageSchema,
  usage: UsageSchema,
  finishReason: FinishReasonSchema,
});

/** `net/embed` params: texts to embed with one model. */
export const EmbedParamsSchema = z.strictObject({
  ...ProviderTargetShape,
  inputs: z.array(TextSchema).check(z.minLength(1), z.maxLength(Limits.batchItemsMax)),
});

/** `net/embed` result: one vector per input, in input order. */
export const EmbedResultSchema = z.strictObject({
  embeddings: z
    .array(z.array(z.number()).check(z.minLength(1), z.maxLength(Limits.embeddingDimensionsMax)))
    .check(z.maxLength(Limits.batchItemsMax)),
  usage: z.strictObject({ inputTokens: boundedInt(0, Limits.tokensMax) }),
});

/** `net/rerank` params: documents to order by relevance to a query. */
export const RerankParamsSchema = z.strictObject({
  ...ProviderTargetShape,
  query: nonEmptyString(Limits.queryLengthMax),
  documents: z.array(TextSchema).check(z.minLength(1), z.maxLength(Limits.batchItemsMax)),
  topN: z.optional(boundedInt(1, Limits.batchItemsMax)),
});

/** `net/rerank` result: document indexes with scores, most relevant first. */
export const RerankResultSchema = z.strictObject({
  results: z
    .array(z.strictObject({ index: boundedInt(0, Limits.batchItemsMax - 1), score: z.number() }))
    .check(z.maxLength(Limits.batchItemsMax)),
});
