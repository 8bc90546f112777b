import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { CallContext } from '../call-context.js';
import { NetFailure, oneLine } from '../net-failure.js';
import { addressRefusedCode } from './endpoint.js';
import { backoffDelayMs, honoursRetryAfter, isRetryableStatus, retryAfterMs } from './retry-policy.js';
import { SseParser } from './sse-parser.js';
import type { SseEvent } from './sse-parser.js';

/** One JSON POST to a provider. */
export interface HttpCall {
  /** The provider's name, for messages. */
  readonly provider: string;
  readonly url: URL;
  readonly local: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A 2xx response whose body has not been read yet. */
export type OpenResponse = Dispatcher.ResponseData;

/** Transport failures worth another attempt: the request most likely never reached the model. */
const retryableTransportCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(error: unknown): string {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 4; depth++) {
    if (typeof current !== 'object' || current === null) return '';
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_ABORTED' && code !== 'ABORT_ERR') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return '';
}

/**
 * Turns whatever the transport threw into a {@link NetFailure}: cancellation, the call deadline,
 * undici's timeouts, a refused address, or an unreachable provider. Never echoes headers.
 */
export function transportFailure(error: unknown, call: Pick<HttpCall, 'provider'>, context: CallContext): NetFailure {
  if (error instanceof NetFailure) return error;
  if (context.cancelSignal.aborted) return new NetFailure('requestCancelled', 'the call was cancelled');
  if (context.signal.aborted) {
    return new NetFailure(
      'timeout',
      `provider '${call.provider}' did not finish within callTimeoutMs (${context.limits.callTimeoutMs} ms)`,
    );
  }
  const code = errorCode(error);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new NetFailure(
        'timeout',
        `could not connect to provider '${call.provider}' within connectTimeoutMs (${context.limits.connectTimeoutMs} ms)`,
      );
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new NetFailure(
        'timeout',
        `provider '${call.provider}' sent no response headers within headersTimeoutMs (${context.limits.headersTimeoutMs} ms)`,
      );
    case 'UND_ERR_BODY_TIMEOUT':
      return new NetFailure(
        'timeout',
        `provider '${call.provider}' stalled: no body data for bodyTimeoutMs (${context.limits.bodyTimeoutMs} ms)`,
      );
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return tooLarge(call, context);
    case addressRefusedCode:
      return new NetFailure(
        'invalidParams',
        `provider '${call.provider}' is not configured as local, and its host resolves to a loopback, private or link-local address`,
      );
    default:
      return new NetFailure(
        'sidecarFailure',
        `could not reach provider '${call.provider}' (${code === '' ? 'connection failed' : code})`,
      );
  }
}

function tooLarge(call: Pick<HttpCall, 'provider'>, context: CallContext): NetFailure {
  return new NetFailure(
    'contentTooLarge',
    `provider '${call.provider}' sent more than responseBytesMax (${context.limits.responseBytesMax} bytes); aborted`,
  );
}

async function wait(delayMs: number, call: HttpCall, context: CallContext): Promise<void> {
  if (Date.now() + delayMs > context.deadlineAtMs) {
    throw new NetFailure(
      'timeout',
      `provider '${call.provider}' asked to wait ${delayMs} ms, past callTimeoutMs (${context.limits.callTimeoutMs} ms)`,
    );
  }
  try {
    await sleep(delayMs, undefined, { signal: context.signal });
  } catch (error) {
    throw transportFailure(error, call, context);
  }
}

/** Stops reading a body and closes its connection; the abort this causes is expected, not an error. */
function discard(response: OpenResponse): void {
  response.body.on('error', () => undefined);
  if (!response.body.destroyed) response.body.destroy();
}

/** The provider's own error message from an error body (OpenAI and Anthropic shapes), as one line. */
export function providerErrorDetail(text: string): string {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null) {
      const error = (value as { error?: unknown }).error;
      if (typeof error === 'string') return oneLine(error, 300);
      if (typeof error === 'object' && error !== null) {
        const message = (error as { message?: unknown }).message;
        if (typeof message === 'string') return oneLine(message, 300);
      }
      const message = (value as { message?: unknown }).message;
      if (typeof message === 'string') return oneLine(message, 300);
      return 'no details';
    }
  } catch {
    // Not JSON: fall back to the raw text below.
  }
  return text.trim() === '' ? 'no details' : oneLine(text, 200);
}

/**
 * POSTs `call` and returns the first 2xx response. Retries, with exponential backoff and jitter,
 * after 429 and 5xx answers and after connection failures, up to `retriesMax` times; a
 * `Retry-After` on 429 or 503 sets the wait instead (refused when over `retryAfterMsMax`). Never
 * retries another 4xx, never follows a redirect, and gives up when the call's deadline would pass.
 */
export async function openResponse(call: HttpCall, context: CallContext): Promise<OpenResponse> {
  const limits = context.limits;
  for (let attempt = 0; ; attempt++) {
    let response: OpenResponse;
    try {
      response = await request(call.url, {
        method: 'POST',
        headers: { ...call.headers, 'content-type': 'application/json' },
        body: call.body,
        signal: context.signal,
        dispatcher: context.dispatcher(call.local),
        headersTimeout: limits.headersTimeoutMs,
        bodyTimeout: limits.bodyTimeoutMs,
      });
    } catch (error) {
      const failure = transportFailure(error, call, context);
      if (attempt < limits.retriesMax && retryableTransportCodes.has(errorCode(error)) && !context.signal.aborted) {
        const delayMs = backoffDelayMs(attempt, limits);
        context.onStatus?.(
          `${failure.message}; retrying in ${delayMs} ms (retry ${attempt + 1} of ${limits.retriesMax})`,
        );
        await wait(delayMs, call, context);
        continue;
      }
      throw failure;
    }
    const status = response.statusCode;
    if (status >= 200 && status <= 299) return response;
    if (status >= 300 && status <= 399) {
      discard(response);
      throw new NetFailure(
        'sidecarFailure',
        `provider '${call.provider}' answered with a redirect (HTTP ${status}); redirects are not followed, so set baseUrl to the final URL`,
      );
    }
    const detail = providerErrorDetail(
      await readText(response, call, context, limits.errorBodyBytesMax).catch(() => ''),
    );
    if (isRetryableStatus(status) && attempt < limits.retriesMax) {
      const header = response.headers['retry-after'];
      const asked = honoursRetryAfter(status)
        ? retryAfterMs(Array.isArray(header) ? header[0] : header, Date.now())
        : null;
      if (asked !== null && asked > limits.retryAfterMsMax) {
        throw new NetFailure(
          'sidecarFailure',
          `provider '${call.provider}' answered HTTP ${status} and asked to retry after ${Math.ceil(asked / 1000)} s, more than retryAfterMsMax (${limits.retryAfterMsMax} ms): ${detail}`,
        );
      }
      const delayMs = asked ?? backoffDelayMs(attempt, limits);
      context.onStatus?.(
        `provider '${call.provider}' answered HTTP ${status}; retrying in ${delayMs} ms (retry ${attempt + 1} of ${limits.retriesMax})`,
      );
      await wait(delayMs, call, context);
      continue;
    }
    const after = attempt > 0 ? ` after ${attempt} ${attempt === 1 ? 'retry' : 'retries'}` : '';
    throw new NetFailure('sidecarFailure', `provider '${call.provider}' answered HTTP ${status}${after}: ${detail}`);
  }
}

/** Reads a whole response body as UTF-8 text, aborting past `bytesMax`. */
export async function readText(
  response: OpenResponse,
  call: Pick<HttpCall, 'provider'>,
  context: CallContext,
  bytesMax: number = context.limits.responseBytesMax,
): Promise<string> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > bytesMax) {
    discard(response);
    throw tooLarge(call, context);
  }
  const decoder = new TextDecoder('utf-8');
  let text = '';
  let received = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > bytesMax) {
        discard(response);
        throw tooLarge(call, context);
      }
      text += decoder.decode(chunk, { stream: true });
    }
  } catch (error) {
    throw transportFailure(error, call, context);
  }
  return text + decoder.decode();
}

/** Reads and parses a JSON response body. */
export async function readJson(
  response: OpenResponse,
  call: Pick<HttpCall, 'provider'>,
  context: CallContext,
): Promise<unknown> {
  const text = await readText(response, call, context);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new NetFailure('sidecarFailure', `provider '${call.provider}' sent a response that is not JSON`);
  }
}

/** Reads a `text/event-stream` body event by event, aborting past `responseBytesMax` in total. */
export async function* readEvents(
  response: OpenResponse,
  call: Pick<HttpCall, 'provider'>,
  context: CallContext,
): AsyncGenerator<SseEvent> {
  const parser = new SseParser(context.limits.sseEventBytesMax);
  const decoder = new TextDecoder('utf-8');
  let received = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > context.limits.responseBytesMax) throw tooLarge(call, context);
      yield* parser.push(decoder.decode(chunk, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } catch (error) {
    throw transportFailure(error, call, context);
  } finally {
    // Leaving early (done, failed or cancelled) must close the connection, not leave it streaming.
    discard(response);
  }
}

/** Parses one event's data as a JSON object, or fails the call naming the provider. */
export function parseEventJson(data: string, provider: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new NetFailure('sidecarFailure', `provider '${provider}' sent a stream event that is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NetFailure('sidecarFailure', `provider '${provider}' sent a stream event that is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
