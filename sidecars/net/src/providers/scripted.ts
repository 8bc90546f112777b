import { readFileSync } from 'node:fs';
import { validateResult } from '@crustcore/protocol';
import type { CallContext } from '../call-context.js';
import { NetFailure, oneLine } from '../net-failure.js';
import { estimateTokens, streamText } from './mock.js';
import type { CompleteParams, CompleteResult, FinishReason, ToolCall } from './provider-types.js';
import { completion } from './provider-types.js';

/** What a scripted turn checks about the last message it receives before it answers. */
export interface TurnExpectation {
  /** The last message's role. */
  readonly role?: 'system' | 'user' | 'assistant' | 'tool';
  /** Text the last message's content must contain. */
  readonly contains?: string;
}

/** One scripted model turn: optional expectations, then the assistant's text and tool calls. */
export interface ScriptedTurn {
  readonly expect?: TurnExpectation;
  readonly content: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason?: FinishReason;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseExpectation(value: unknown, where: string): TurnExpectation | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw new Error(`${where}.expect must be an object`);
  for (const key of Object.keys(value)) {
    if (key !== 'role' && key !== 'contains') throw new Error(`${where}.expect.${key} is not a known key`);
  }
  const role = value['role'];
  if (role !== undefined && !['system', 'user', 'assistant', 'tool'].includes(role as string)) {
    throw new Error(`${where}.expect.role must be system, user, assistant or tool`);
  }
  const contains = value['contains'];
  if (contains !== undefined && typeof contains !== 'string')
    throw new Error(`${where}.expect.contains must be a string`);
  return {
    ...(role === undefined ? {} : { role: role as NonNullable<TurnExpectation['role']> }),
    ...(contains === undefined ? {} : { contains }),
  };
}

/**
 * Parses a script `{ "turns": [ { expect?, content, toolCalls?, finishReason? } ] }`. Each turn's
 * answer is checked against the `net/complete` result schema, so a script cannot make the
 * sidecar send an invalid result. Throws a one-line error naming the bad turn.
 */
export function parseScript(value: unknown): readonly ScriptedTurn[] {
  if (!isRecord(value) || !Array.isArray(value['turns'])) throw new Error('a script is an object with a "turns" array');
  return value['turns'].map((turn: unknown, index): ScriptedTurn => {
    const where = `turns[${index}]`;
    if (!isRecord(turn)) throw new Error(`${where} must be an object`);
    for (const key of Object.keys(turn)) {
      if (!['expect', 'content', 'toolCalls', 'finishReason'].includes(key))
        throw new Error(`${where}.${key} is not a known key`);
    }
    const toolCalls = (turn['toolCalls'] ?? []) as ToolCall[];
    const finishReason = (turn['finishReason'] ?? (toolCalls.length > 0 ? 'toolCalls' : 'stop')) as FinishReason;
    const checked = validateResult('net/complete', {
      ...completion(turn['content'] as string, toolCalls, finishReason, { inputTokens: 0, outputTokens: 0 }),
    });
    if (!checked.ok) throw new Error(`${where}: ${checked.message}`);
    const expectation = parseExpectation(turn['expect'], where);
    return {
      content: checked.result.message.content,
      toolCalls: checked.result.message.toolCalls ?? [],
      finishReason: checked.result.finishReason,
      ...(expectation === undefined ? {} : { expect: expectation }),
    };
  });
}

/**
 * Replays a script of model turns in order, one per `net/complete` call: the demo's and the
 * tests' deterministic model. A turn whose expectation does not hold, or a call after the last
 * turn, fails the call with a message that names the turn.
 */
export class ScriptedModel {
  readonly #turns: readonly ScriptedTurn[];
  #next = 0;

  /** Creates a model that replays `turns`. */
  constructor(turns: readonly ScriptedTurn[]) {
    this.#turns = turns;
  }

  /** Reads and parses a script file. */
  static fromFile(path: string): ScriptedModel {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new NetFailure(
        'sidecarFailure',
        `could not read the model script: ${error instanceof Error ? oneLine(error.message) : 'unknown reason'}`,
      );
    }
    try {
      return new ScriptedModel(parseScript(value));
    } catch (error) {
      throw new NetFailure(
        'sidecarFailure',
        `the model script is invalid: ${error instanceof Error ? oneLine(error.message) : 'unknown reason'}`,
      );
    }
  }

  /** How many turns were played. */
  get played(): number {
    return this.#next;
  }

  /** Plays the next turn for this call. */
  complete(params: CompleteParams, context: CallContext): CompleteResult {
    const index = this.#next;
    const turn = this.#turns[index];
    if (turn === undefined) {
      throw new NetFailure('sidecarFailure', `the model script has ${this.#turns.length} turns and all were played`);
    }
    const last = params.messages[params.messages.length - 1];
    const expectation = turn.expect;
    if (expectation?.role !== undefined && last?.role !== expectation.role) {
      throw new NetFailure(
        'sidecarFailure',
        `script turn ${index} expected the last message from ${expectation.role}, got ${last?.role ?? 'none'}`,
      );
    }
    if (expectation?.contains !== undefined && !(last?.content ?? '').includes(expectation.contains)) {
      throw new NetFailure(
        'sidecarFailure',
        `script turn ${index} expected the last message to contain ${JSON.stringify(oneLine(expectation.contains, 80))}, got ${JSON.stringify(oneLine(last?.content ?? '', 80))}`,
      );
    }
    this.#next++;
    streamText(turn.content, context);
    const inputTokens = params.messages.reduce((sum, message) => sum + estimateTokens(message.content), 0);
    return completion(turn.content, turn.toolCalls ?? [], turn.finishReason ?? 'stop', {
      inputTokens,
      outputTokens: estimateTokens(turn.content),
    });
  }
}
