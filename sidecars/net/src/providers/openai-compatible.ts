import type { CallContext } from '../call-context.js';
import { endpointUrl } from '../http/endpoint.js';
import type { HttpCall } from '../http/http-client.js';
import { openResponse, parseEventJson, readEvents, readJson } from '../http/http-client.js';
import { NetFailure } from '../net-failure.js';
import type {
  CompleteParams,
  CompleteResult,
  EmbedParams,
  EmbedResult,
  FinishReason,
  RemoteTarget,
  RerankParams,
  RerankResult,
  ToolCall,
} from './provider-types.js';
import { completion, tokenCount } from './provider-types.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headers(target: RemoteTarget, accept: string): Record<string, string> {
  return target.apiKey === undefined ? { accept } : { accept, authorization: `Bearer ${target.apiKey}` };
}

function call(target: RemoteTarget, path: string, body: unknown, accept = 'application/json'): HttpCall {
  return {
    provider: target.provider,
    url: endpointUrl(target.endpoint, path),
    local: target.endpoint.local,
    headers: headers(target, accept),
    body: JSON.stringify(body),
  };
}

/** The chat completions request body for `params` (OpenAI's wire names). */
export function chatRequestBody(params: CompleteParams, stream: boolean): Record<string, unknown> {
  const messages = params.messages.map((message) => {
    switch (message.role) {
      case 'system':
      case 'user':
        return { role: message.role, content: message.content };
      case 'assistant':
        return message.toolCalls === undefined || message.toolCalls.length === 0
          ? { role: 'assistant', content: message.content }
          : {
              role: 'assistant',
              content: message.content === '' ? null : message.content,
              tool_calls: message.toolCalls.map((toolCall) => ({
                id: toolCall.id,
                type: 'function',
                function: { name: toolCall.name, arguments: toolCall.arguments },
              })),
            };
      case 'tool':
        return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
      default:
        return assertNever(message);
    }
  });
  return {
    model: params.model,
    messages,
    ...(params.tools === undefined || params.tools.length === 0
      ? {}
      : {
          tools: params.tools.map((tool) => ({
            type: 'function',
            function: {
              name: tool.name,
              ...(tool.description === undefined ? {} : { description: tool.description }),
              parameters: tool.inputSchema,
            },
          })),
        }),
    ...(params.maxTokens === undefined ? {} : { max_tokens: params.maxTokens }),
    ...(params.temperature === undefined ? {} : { temperature: params.temperature }),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/** OpenAI's finish reasons in the protocol's terms; an absent one is inferred from the tool calls. */
export function finishReasonOf(value: unknown, hasToolCalls: boolean): FinishReason {
  switch (value) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'toolCalls';
    case 'content_filter':
      return 'contentFilter';
    default:
      return hasToolCalls ? 'toolCalls' : 'stop';
  }
}

function checkedToolCall(provider: string, id: unknown, name: unknown, args: unknown, position: number): ToolCall {
  if (typeof name !== 'string' || name === '') {
    throw new NetFailure('sidecarFailure', `provider '${provider}' sent tool call ${position} without a name`);
  }
  return {
    id: typeof id === 'string' && id !== '' ? id : `call_${position}`,
    name,
    arguments: typeof args === 'string' ? args : '',
  };
}

function usageOf(value: unknown): CompleteResult['usage'] {
  if (!isRecord(value)) return { inputTokens: 0, outputTokens: 0 };
  return { inputTokens: tokenCount(value['prompt_tokens']), outputTokens: tokenCount(value['completion_tokens']) };
}

/** `POST {baseUrl}/chat/completions`, streamed (SSE) when the caller asked to stream, else one JSON body. */
export async function openAiComplete(
  target: RemoteTarget,
  params: CompleteParams,
  context: CallContext,
): Promise<CompleteResult> {
  const stream = params.stream === true;
  const http = call(
    target,
    '/chat/completions',
    chatRequestBody(params, stream),
    stream ? 'text/event-stream' : 'application/json',
  );
  const response = await openResponse(http, context);
  return stream
    ? readChatStream(target.provider, response, context)
    : readChatBody(target.provider, await readJson(response, http, context));
}

function readChatBody(provider: string, body: unknown): CompleteResult {
  const choice = isRecord(body) && Array.isArray(body['choices']) ? (body['choices'][0] as unknown) : undefined;
  if (!isRecord(body) || !isRecord(choice) || !isRecord(choice['message'])) {
    throw new NetFailure('sidecarFailure', `provider '${provider}' sent a chat completion without choices[0].message`);
  }
  const message = choice['message'];
  const rawCalls = Array.isArray(message['tool_calls']) ? (message['tool_calls'] as unknown[]) : [];
  const toolCalls = rawCalls.map((raw, position) => {
    const fn = isRecord(raw) && isRecord(raw['function']) ? raw['function'] : {};
    return checkedToolCall(provider, isRecord(raw) ? raw['id'] : undefined, fn['name'], fn['arguments'], position);
  });
  const content = typeof message['content'] === 'string' ? message['content'] : '';
  return completion(
    content,
    toolCalls,
    finishReasonOf(choice['finish_reason'], toolCalls.length > 0),
    usageOf(body['usage']),
  );
}

interface ToolCallDraft {
  id: string;
  name: string;
  arguments: string;
}

async function readChatStream(
  provider: string,
  response: Awaited<ReturnType<typeof openResponse>>,
  context: CallContext,
): Promise<CompleteResult> {
  let content = '';
  const drafts = new Map<number, ToolCallDraft>();
  let finish: unknown = undefined;
  let usage: CompleteResult['usage'] = { inputTokens: 0, outputTokens: 0 };
  let done = false;
  for await (const event of readEvents(response, { provider }, context)) {
    if (event.data.trim() === '[DONE]') {
      done = true;
      break;
    }
    const chunk = parseEventJson(event.data, provider);
    if (chunk['error'] !== undefined) {
      const error = chunk['error'];
      const message = isRecord(error) && typeof error['message'] === 'string' ? error['message'] : 'no details';
      throw new NetFailure(
        'sidecarFailure',
        `provider '${provider}' reported an error mid-stream: ${message.slice(0, 300)}`,
      );
    }
    if (isRecord(chunk['usage'])) usage = usageOf(chunk['usage']);
    const choice = Array.isArray(chunk['choices']) ? (chunk['choices'][0] as unknown) : undefined;
    if (!isRecord(choice)) continue;
    if (choice['finish_reason'] !== null && choice['finish_reason'] !== undefined) finish = choice['finish_reason'];
    const delta = choice['delta'];
    if (!isRecord(delta)) continue;
    if (typeof delta['content'] === 'string' && delta['content'] !== '') {
      content += delta['content'];
      context.onTextDelta?.(delta['content']);
    }
    if (Array.isArray(delta['tool_calls'])) {
      for (const [position, fragment] of (delta['tool_calls'] as unknown[]).entries()) {
        if (!isRecord(fragment)) continue;
        const index = typeof fragment['index'] === 'number' ? fragment['index'] : position;
        if (!drafts.has(index) && drafts.size >= 256) {
          throw new NetFailure('sidecarFailure', `provider '${provider}' sent more than 256 tool calls`);
        }
        const draft = drafts.get(index) ?? { id: '', name: '', arguments: '' };
        drafts.set(index, draft);
        if (typeof fragment['id'] === 'string') draft.id = fragment['id'];
        const fn = fragment['function'];
        if (isRecord(fn)) {
          if (typeof fn['name'] === 'string') draft.name += fn['name'];
          if (typeof fn['arguments'] === 'string') draft.arguments += fn['arguments'];
        }
      }
    }
  }
  if (!done && finish === undefined) {
    throw new NetFailure('sidecarFailure', `provider '${provider}' ended the stream before it finished the completion`);
  }
  const toolCalls = [...drafts.entries()]
    .sort(([left], [right]) => left - right)
    .map(([, draft], position) => checkedToolCall(provider, draft.id, draft.name, draft.arguments, position));
  return completion(content, toolCalls, finishReasonOf(finish, toolCalls.length > 0), usage);
}

/** `POST {baseUrl}/embeddings` (OpenAI shape): vectors come back in input order, whatever order the provider used. */
export async function openAiEmbed(
  target: RemoteTarget,
  params: EmbedParams,
  context: CallContext,
): Promise<EmbedResult> {
  const http = call(target, '/embeddings', { model: params.model, input: params.inputs });
  const body = await readJson(await openResponse(http, context), http, context);
  const data = isRecord(body) && Array.isArray(body['data']) ? (body['data'] as unknown[]) : null;
  if (data === null || data.length !== params.inputs.length) {
    throw new NetFailure(
      'sidecarFailure',
      `provider '${target.provider}' sent ${data?.length ?? 'no'} embeddings for ${params.inputs.length} inputs`,
    );
  }
  const embeddings: number[][] = new Array<number[]>(params.inputs.length);
  for (const [position, item] of data.entries()) {
    const index = isRecord(item) && typeof item['index'] === 'number' ? item['index'] : position;
    const vector = isRecord(item) ? item['embedding'] : undefined;
    if (
      !Number.isInteger(index) ||
      index < 0 ||
      index >= embeddings.length ||
      embeddings[index] !== undefined ||
      !Array.isArray(vector) ||
      !vector.every((value) => typeof value === 'number' && Number.isFinite(value))
    ) {
      throw new NetFailure(
        'sidecarFailure',
        `provider '${target.provider}' sent a malformed embedding at position ${position}`,
      );
    }
    embeddings[index] = vector as number[];
  }
  const usage = isRecord(body) && isRecord(body['usage']) ? body['usage'] : {};
  return { embeddings, usage: { inputTokens: tokenCount(usage['prompt_tokens'] ?? usage['total_tokens']) } };
}

/** `POST {baseUrl}/rerank` with `{ model, query, documents, top_n }` → `results[{ index, relevance_score }]`. */
export async function openAiRerank(
  target: RemoteTarget,
  params: RerankParams,
  context: CallContext,
): Promise<RerankResult> {
  const http = call(target, '/rerank', {
    model: params.model,
    query: params.query,
    documents: params.documents,
    ...(params.topN === undefined ? {} : { top_n: params.topN }),
  });
  const body = await readJson(await openResponse(http, context), http, context);
  const results = isRecord(body) && Array.isArray(body['results']) ? (body['results'] as unknown[]) : null;
  if (results === null)
    throw new NetFailure('sidecarFailure', `provider '${target.provider}' sent a rerank answer without results`);
  const ranked = results.map((item, position) => {
    const index = isRecord(item) ? item['index'] : undefined;
    const score = isRecord(item) ? item['relevance_score'] : undefined;
    if (
      typeof index !== 'number' ||
      !Number.isInteger(index) ||
      index < 0 ||
      index >= params.documents.length ||
      typeof score !== 'number' ||
      !Number.isFinite(score)
    ) {
      throw new NetFailure(
        'sidecarFailure',
        `provider '${target.provider}' sent a malformed rerank result at position ${position}`,
      );
    }
    return { index, score };
  });
  ranked.sort((left, right) => right.score - left.score || left.index - right.index);
  return { results: ranked.slice(0, params.topN ?? ranked.length) };
}
