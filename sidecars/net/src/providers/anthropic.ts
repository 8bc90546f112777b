import type { CallContext } from '../call-context.js';
import { endpointUrl } from '../http/endpoint.js';
import type { HttpCall, OpenResponse } from '../http/http-client.js';
import { openResponse, parseEventJson, readEvents, readJson } from '../http/http-client.js';
import { NetFailure, oneLine } from '../net-failure.js';
import type { NetLimits } from '../net-limits.js';
import type { CompleteParams, CompleteResult, FinishReason, RemoteTarget, ToolCall } from './provider-types.js';
import { completion, tokenCount } from './provider-types.js';

/** The Messages API version this sidecar speaks. */
export const anthropicVersion = '2023-06-01';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Block = Record<string, unknown>;
interface WireMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

function toolInput(argumentsText: string): unknown {
  if (argumentsText.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(argumentsText);
    if (isRecord(value)) return value;
  } catch {
    // Reported below.
  }
  throw new NetFailure(
    'invalidParams',
    'an assistant tool call has arguments that are not a JSON object; Anthropic needs one',
  );
}

/**
 * The Messages request body for `params`: system messages become the top-level `system`, tool
 * results become `tool_result` blocks in a user turn, and consecutive turns of one role merge
 * (the API wants user and assistant turns to alternate).
 */
export function messagesRequestBody(
  params: CompleteParams,
  stream: boolean,
  limits: NetLimits,
): Record<string, unknown> {
  const system: string[] = [];
  const messages: WireMessage[] = [];
  const push = (role: WireMessage['role'], blocks: Block[]): void => {
    const last = messages[messages.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of params.messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push('user', [{ type: 'text', text: message.content }]);
        break;
      case 'assistant':
        push('assistant', [
          ...(message.content === '' ? [] : [{ type: 'text', text: message.content }]),
          ...(message.toolCalls ?? []).map((toolCall) => ({
            type: 'tool_use',
            id: toolCall.id,
            name: toolCall.name,
            input: toolInput(toolCall.arguments),
          })),
        ]);
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
        break;
      default:
        return assertNever(message);
    }
  }
  return {
    model: params.model,
    max_tokens: params.maxTokens ?? limits.defaultMaxTokens,
    messages,
    ...(system.length === 0 ? {} : { system: system.join('\n\n') }),
    ...(params.tools === undefined || params.tools.length === 0
      ? {}
      : {
          tools: params.tools.map((tool) => ({
            name: tool.name,
            ...(tool.description === undefined ? {} : { description: tool.description }),
            input_schema: tool.inputSchema,
          })),
        }),
    ...(params.temperature === undefined ? {} : { temperature: Math.min(params.temperature, 1) }),
    ...(stream ? { stream: true } : {}),
  };
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/** Anthropic's stop reasons in the protocol's terms. */
export function stopReasonOf(value: unknown, hasToolCalls: boolean): FinishReason {
  switch (value) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'toolCalls';
    case 'refusal':
      return 'contentFilter';
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    default:
      return hasToolCalls ? 'toolCalls' : 'stop';
  }
}

function checkedToolCall(provider: string, id: unknown, name: unknown, args: string, position: number): ToolCall {
  if (typeof name !== 'string' || name === '') {
    throw new NetFailure('sidecarFailure', `provider '${provider}' sent tool_use block ${position} without a name`);
  }
  return { id: typeof id === 'string' && id !== '' ? id : `toolu_${position}`, name, arguments: args };
}

/** `POST {baseUrl}/v1/messages` with `x-api-key` and `anthropic-version`; streamed when the caller asked to stream. */
export async function anthropicComplete(
  target: RemoteTarget,
  params: CompleteParams,
  context: CallContext,
): Promise<CompleteResult> {
  const stream = params.stream === true;
  const http: HttpCall = {
    provider: target.provider,
    url: endpointUrl(target.endpoint, '/v1/messages'),
    local: target.endpoint.local,
    headers: {
      accept: stream ? 'text/event-stream' : 'application/json',
      'anthropic-version': anthropicVersion,
      ...(target.apiKey === undefined ? {} : { 'x-api-key': target.apiKey }),
    },
    body: JSON.stringify(messagesRequestBody(params, stream, context.limits)),
  };
  const response = await openResponse(http, context);
  return stream
    ? readMessageStream(target.provider, response, context)
    : readMessageBody(target.provider, await readJson(response, http, context));
}

function readMessageBody(provider: string, body: unknown): CompleteResult {
  if (!isRecord(body) || !Array.isArray(body['content'])) {
    throw new NetFailure('sidecarFailure', `provider '${provider}' sent a message without content`);
  }
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of body['content'] as unknown[]) {
    if (!isRecord(block)) continue;
    if (block['type'] === 'text' && typeof block['text'] === 'string') text += block['text'];
    if (block['type'] === 'tool_use') {
      toolCalls.push(
        checkedToolCall(provider, block['id'], block['name'], JSON.stringify(block['input'] ?? {}), toolCalls.length),
      );
    }
  }
  const usage = isRecord(body['usage']) ? body['usage'] : {};
  return completion(text, toolCalls, stopReasonOf(body['stop_reason'], toolCalls.length > 0), {
    inputTokens: tokenCount(usage['input_tokens']),
    outputTokens: tokenCount(usage['output_tokens']),
  });
}

interface BlockDraft {
  readonly type: 'text' | 'tool_use' | 'other';
  readonly id: unknown;
  readonly name: unknown;
  readonly initialInput: unknown;
  json: string;
}

async function readMessageStream(
  provider: string,
  response: OpenResponse,
  context: CallContext,
): Promise<CompleteResult> {
  let text = '';
  const blocks = new Map<number, BlockDraft>();
  let stopReason: unknown = undefined;
  let inputTokens = 0;
  let outputTokens = 0;
  let stopped = false;
  for await (const event of readEvents(response, { provider }, context)) {
    const data = parseEventJson(event.data, provider);
    const type = typeof data['type'] === 'string' ? data['type'] : event.event;
    switch (type) {
      case 'message_start': {
        const message = isRecord(data['message']) ? data['message'] : {};
        const usage = isRecord(message['usage']) ? message['usage'] : {};
        inputTokens = tokenCount(usage['input_tokens']);
        outputTokens = tokenCount(usage['output_tokens']);
        break;
      }
      case 'content_block_start': {
        const index = typeof data['index'] === 'number' ? data['index'] : blocks.size;
        const block = isRecord(data['content_block']) ? data['content_block'] : {};
        if (!blocks.has(index) && blocks.size >= 512) {
          throw new NetFailure('sidecarFailure', `provider '${provider}' sent more than 512 content blocks`);
        }
        const kind = block['type'] === 'text' || block['type'] === 'tool_use' ? block['type'] : 'other';
        blocks.set(index, { type: kind, id: block['id'], name: block['name'], initialInput: block['input'], json: '' });
        if (kind === 'text' && typeof block['text'] === 'string' && block['text'] !== '') {
          text += block['text'];
          context.onTextDelta?.(block['text']);
        }
        break;
      }
      case 'content_block_delta': {
        const delta = isRecord(data['delta']) ? data['delta'] : {};
        const draft = typeof data['index'] === 'number' ? blocks.get(data['index']) : undefined;
        if (delta['type'] === 'text_delta' && typeof delta['text'] === 'string') {
          text += delta['text'];
          context.onTextDelta?.(delta['text']);
        } else if (
          delta['type'] === 'input_json_delta' &&
          typeof delta['partial_json'] === 'string' &&
          draft !== undefined
        ) {
          draft.json += delta['partial_json'];
        }
        break;
      }
      case 'message_delta': {
        const delta = isRecord(data['delta']) ? data['delta'] : {};
        if (delta['stop_reason'] !== undefined && delta['stop_reason'] !== null) stopReason = delta['stop_reason'];
        const usage = isRecord(data['usage']) ? data['usage'] : {};
        if (usage['output_tokens'] !== undefined) outputTokens = tokenCount(usage['output_tokens']);
        if (usage['input_tokens'] !== undefined) inputTokens = tokenCount(usage['input_tokens']);
        break;
      }
      case 'message_stop':
        stopped = true;
        break;
      case 'error': {
        const error = isRecord(data['error']) ? data['error'] : {};
        const kind = typeof error['type'] === 'string' ? error['type'] : 'error';
        const message = typeof error['message'] === 'string' ? error['message'] : 'no details';
        throw new NetFailure(
          'sidecarFailure',
          `provider '${provider}' reported ${oneLine(kind, 64)} mid-stream: ${oneLine(message)}`,
        );
      }
      default:
        // content_block_stop, ping and event types added later carry nothing this sidecar needs.
        break;
    }
    if (stopped) break;
  }
  if (!stopped) throw new NetFailure('sidecarFailure', `provider '${provider}' ended the stream before message_stop`);
  const toolCalls = [...blocks.entries()]
    .sort(([left], [right]) => left - right)
    .filter(([, draft]) => draft.type === 'tool_use')
    .map(([, draft], position) =>
      checkedToolCall(
        provider,
        draft.id,
        draft.name,
        draft.json === '' ? JSON.stringify(draft.initialInput ?? {}) : draft.json,
        position,
      ),
    );
  return completion(text, toolCalls, stopReasonOf(stopReason, toolCalls.length > 0), { inputTokens, outputTokens });
}
