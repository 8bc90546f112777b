import { encodeFrame } from '../src/framing.js';
import { ErrorCode } from '../src/jsonrpc.js';
import type { RequestId } from '../src/jsonrpc.js';
import { Limits } from '../src/limits.js';
import { negotiate, parseVersion, protocolVersion } from '../src/versions.js';
import type { Fixture } from '../src/v1/fixtures.js';
import { judgeMessage } from '../src/v1/judge.js';
import type { MethodName } from '../src/v1/methods.js';
import { isRequestMethod, Methods } from '../src/v1/methods.js';
import type { ConformanceLimits } from './conformance-limits.js';
import type { Awaited, HelperCommand, HelperProcess } from './helper-process.js';
import type { SidecarKind } from './sidecar-kinds.js';

/** A scenario failed; the message says what was expected and what happened. */
export class ScenarioFailure extends Error {
  /** Creates a failure with a one-line reason. */
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioFailure';
  }
}

/** What every scenario gets: the command, the kind, the limits, and helpers to start processes. */
export interface ScenarioContext {
  readonly command: HelperCommand;
  readonly kind: SidecarKind;
  readonly limits: ConformanceLimits;
  /** Starts a helper that is killed when the scenario ends. */
  start(): HelperProcess;
  /** Starts a helper and completes the handshake, or fails the scenario. */
  initialized(): Promise<HelperProcess>;
}

/** One named check. `run` returns a short detail on success and throws {@link ScenarioFailure} otherwise. */
export interface Scenario {
  readonly name: string;
  /** Scenarios with the same lane run one after another on a shared helper; others run in their own process. */
  readonly lane?: 'shared';
  run(context: ScenarioContext, shared: () => Promise<HelperProcess>): Promise<string>;
}

const clientFaultCodes: ReadonlySet<number> = new Set([
  ErrorCode.parseError,
  ErrorCode.invalidRequest,
  ErrorCode.methodNotFound,
  ErrorCode.invalidParams,
]);

function fail(message: string): never {
  throw new ScenarioFailure(message);
}

function describeAwaited(awaited: Awaited, timeoutMs: number): string {
  switch (awaited.kind) {
    case 'response':
      return JSON.stringify(awaited.message).slice(0, 200);
    case 'closed':
      return awaited.reason;
    case 'timeout':
      return `no response within ${timeoutMs} ms`;
    default:
      return assertNever(awaited);
  }
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

function errorOf(message: Record<string, unknown>): { code: number; message: string } | null {
  const error = message['error'];
  if (typeof error !== 'object' || error === null) return null;
  const { code, message: text } = error as { code?: unknown; message?: unknown };
  return { code: typeof code === 'number' ? code : Number.NaN, message: typeof text === 'string' ? text : '' };
}

/** Sends a request and returns the response message, failing the scenario when none comes. */
async function call(
  helper: HelperProcess,
  message: Record<string, unknown>,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  helper.send(message);
  const awaited = await helper.response(message['id'] as RequestId, timeoutMs);
  if (awaited.kind !== 'response') fail(`${String(message['method'])}: ${describeAwaited(awaited, timeoutMs)}`);
  return awaited.message;
}

/** Expects an error response with one of `codes`; returns its message. */
function expectError(response: Record<string, unknown>, codes: readonly number[], what: string): string {
  const error = errorOf(response);
  if (error === null)
    fail(
      `${what}: expected error ${codes.join(' or ')}, got a result ${JSON.stringify(response['result']).slice(0, 120)}`,
    );
  if (!codes.includes(error.code))
    fail(`${what}: expected error ${codes.join(' or ')}, got ${error.code} (${error.message.slice(0, 120)})`);
  return error.message;
}

let pingCounter = 0;

/** Checks that the helper still answers `$/ping`. */
async function expectAlive(helper: HelperProcess, limits: ConformanceLimits, after: string): Promise<void> {
  const id = `conformance-ping-${pingCounter++}`;
  helper.send({ jsonrpc: '2.0', id, method: '$/ping' });
  const awaited = await helper.response(id, limits.responseTimeoutMs);
  if (awaited.kind !== 'response' || awaited.message['result'] !== null) {
    fail(`after ${after}, $/ping was not answered with null: ${describeAwaited(awaited, limits.responseTimeoutMs)}`);
  }
}

/**
 * After a message the helper must refuse, accepts an error response with one of `codes`, or the
 * helper closing its stdout and exiting on its own (with a word on stderr when the exit code is
 * not 0). Fails when it ignores the message, dies by a signal, or keeps running with stdout closed.
 */
async function expectRefusedOrClosed(
  helper: HelperProcess,
  codes: readonly number[],
  limits: ConformanceLimits,
  what: string,
): Promise<string> {
  const awaited = await helper.anyResponse(limits.refusalTimeoutMs);
  if (awaited.kind === 'response') {
    const error = errorOf(awaited.message);
    if (error !== null && codes.includes(error.code)) return `answered ${error.code}`;
    fail(`${what}: expected error ${codes.join(' or ')} or a clean close, got ${describeAwaited(awaited, 0)}`);
  }
  const exit = await helper.waitForExit(limits.refusalTimeoutMs);
  if (exit === null) {
    fail(
      awaited.kind === 'timeout'
        ? `${what}: ignored it (no error response, no exit within ${limits.refusalTimeoutMs} ms)`
        : `${what}: closed stdout but kept running`,
    );
  }
  if (exit.signal !== null) fail(`${what}: the helper died on signal ${exit.signal}`);
  if (exit.exitCode !== 0 && helper.stderr.trim() === '')
    fail(`${what}: exited with code ${exit.exitCode} and said nothing on stderr`);
  return `closed the connection and exited with code ${exit.exitCode}`;
}

function initializeMessage(id: RequestId, version: string): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: version,
      clientInfo: { name: 'crustcore-conformance', version: protocolVersion },
      capabilities: { methods: ['$/ping', '$/progress', '$/cancelRequest'] },
    },
  };
}

/** Runs the handshake on a fresh helper and checks the answer; shared by several scenarios. */
export async function handshake(helper: HelperProcess, kind: SidecarKind, limits: ConformanceLimits): Promise<string> {
  const response = await call(
    helper,
    initializeMessage('conformance-initialize', protocolVersion),
    limits.responseTimeoutMs,
  );
  const judged = judgeMessage('initialize', response);
  if (judged.verdict !== 'valid' || errorOf(response) !== null) {
    fail(
      `initialize: ${judged.verdict === 'valid' ? `refused: ${JSON.stringify(response['error']).slice(0, 160)}` : judged.reason}`,
    );
  }
  const result = response['result'] as { protocolVersion: string; capabilities: { methods: string[] } };
  const agreed = negotiate(protocolVersion, result.protocolVersion);
  if (!agreed.ok) fail(`initialize: ${agreed.message}`);
  const missing = [...kind.methods, '$/ping'].filter((method) => !result.capabilities.methods.includes(method));
  if (missing.length > 0) fail(`initialize: a ${kind.name} sidecar must offer ${missing.join(', ')}`);
  return `protocol ${result.protocolVersion}, offers ${result.capabilities.methods.length} methods`;
}

function bumpedMajor(): string {
  const ours = parseVersion(protocolVersion);
  return `${(ours?.major ?? 0) + 1}.0.0`;
}

/** The scenarios that do not come from fixtures. */
export function protocolScenarios(kind: SidecarKind): Scenario[] {
  const scenarios: Scenario[] = [
    {
      name: 'handshake',
      run: (context) => handshake(context.start(), context.kind, context.limits),
    },
    {
      name: 'version mismatch',
      run: async (context) => {
        const theirs = bumpedMajor();
        const response = await call(
          context.start(),
          initializeMessage('conformance-mismatch', theirs),
          context.limits.responseTimeoutMs,
        );
        const message = expectError(response, [ErrorCode.versionMismatch], `initialize with ${theirs}`);
        if (!message.includes(protocolVersion) || !message.includes(theirs)) {
          fail(
            `the refusal must name both versions (${protocolVersion} and ${theirs}): ${JSON.stringify(message.slice(0, 160))}`,
          );
        }
        return `refused with ${ErrorCode.versionMismatch}`;
      },
    },
    {
      name: 'call before initialize',
      run: async (context) => {
        const response = await call(
          context.start(),
          context.kind.sampleRequest('conformance-early'),
          context.limits.responseTimeoutMs,
        );
        expectError(response, [ErrorCode.invalidState], 'a call before initialize');
        return `refused with ${ErrorCode.invalidState}`;
      },
    },
    {
      name: 'unknown method',
      lane: 'shared',
      run: async (context, shared) => {
        const helper = await shared();
        const response = await call(
          helper,
          { jsonrpc: '2.0', id: 'conformance-unknown', method: 'conformance/noSuchMethod', params: {} },
          context.limits.responseTimeoutMs,
        );
        expectError(response, [ErrorCode.methodNotFound], 'an unknown method');
        return `refused with ${ErrorCode.methodNotFound}`;
      },
    },
    {
      name: 'method of another sidecar',
      lane: 'shared',
      run: async (context, shared) => {
        const foreign = (Object.keys(Methods) as MethodName[]).find(
          (method) =>
            isRequestMethod(method) &&
            method.includes('/') &&
            !method.startsWith('$/') &&
            !context.kind.methods.includes(method),
        );
        if (foreign === undefined) return 'every method belongs to this kind';
        const helper = await shared();
        const response = await call(
          helper,
          { jsonrpc: '2.0', id: 'conformance-foreign', method: foreign, params: {} },
          context.limits.responseTimeoutMs,
        );
        expectError(
          response,
          [ErrorCode.methodNotFound],
          `${foreign}, which a ${context.kind.name} sidecar does not offer`,
        );
        return `${foreign} refused with ${ErrorCode.methodNotFound}`;
      },
    },
    {
      name: 'cancellation',
      lane: 'shared',
      run: async (context, shared) => {
        const helper = await shared();
        const id = 'conformance-cancel';
        helper.send(context.kind.sampleRequest(id));
        helper.send({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } });
        const awaited = await helper.response(id, context.limits.responseTimeoutMs);
        if (awaited.kind !== 'response')
          fail(
            `a cancelled call must still get one response: ${describeAwaited(awaited, context.limits.responseTimeoutMs)}`,
          );
        const error = errorOf(awaited.message);
        let detail: string;
        if (error !== null) {
          if (error.code !== ErrorCode.requestCancelled)
            fail(
              `a cancelled call ended with ${error.code} (${error.message.slice(0, 120)}), expected ${ErrorCode.requestCancelled} or a result`,
            );
          detail = `answered ${ErrorCode.requestCancelled}`;
        } else {
          const judged = judgeMessage(context.kind.sampleRequest(id)['method'] as MethodName, awaited.message);
          if (judged.verdict !== 'valid') fail(`the result of a cancelled call is invalid: ${judged.reason}`);
          detail = 'finished before the cancellation arrived';
        }
        const second = await helper.response(id, context.limits.duplicateWatchMs);
        if (second.kind === 'response') fail('a cancelled call got a second response');
        await expectAlive(helper, context.limits, 'a cancellation');
        return detail;
      },
    },
    {
      name: 'junk frame',
      run: async (context) => {
        const helper = await context.initialized();
        helper.sendRaw('this is not a frame\r\n\r\n');
        return expectRefusedOrClosed(
          helper,
          [ErrorCode.parseError, ErrorCode.invalidRequest],
          context.limits,
          'a junk header',
        );
      },
    },
    {
      name: 'body that is not JSON',
      run: async (context) => {
        const helper = await context.initialized();
        const framed = encodeFrame('{"jsonrpc": "2.0", "id": 1, "method"');
        if (framed.ok) helper.sendRaw(framed.frame);
        return expectRefusedOrClosed(helper, [ErrorCode.parseError], context.limits, 'a body that is not JSON');
      },
    },
    {
      name: 'oversize message',
      run: async (context) => {
        const helper = await context.initialized();
        // Announce one byte over the limit and send only the start of the body: the frame must be refused from its header.
        helper.sendRaw(
          `Content-Length: ${Limits.messageBytesMax + 1}\r\n\r\n{"jsonrpc":"2.0","id":"conformance-big","method":"$/ping","params":{"pad":"`,
        );
        helper.sendRaw('x'.repeat(64 * 1024));
        return expectRefusedOrClosed(
          helper,
          [ErrorCode.contentTooLarge],
          context.limits,
          `a frame announcing ${Limits.messageBytesMax + 1} bytes`,
        );
      },
    },
    {
      name: 'exit on stdin EOF',
      run: async (context) => {
        const helper = await context.initialized();
        helper.endInput();
        const exit = await helper.waitForExit(context.limits.eofExitMs);
        if (exit === null) fail(`still running ${context.limits.eofExitMs} ms after its stdin closed`);
        if (exit.signal !== null || exit.exitCode !== 0)
          fail(`exited with ${exit.signal ?? `code ${exit.exitCode}`} after its stdin closed, expected code 0`);
        return 'exited with code 0';
      },
    },
  ];
  const large = kind.largeRequest;
  if (large !== undefined) {
    scenarios.push({
      name: 'message near the size limit',
      run: async (context) => {
        const helper = await context.initialized();
        const request = large('conformance-large', Limits.messageBytesMax - 64 * 1024);
        const response = await call(helper, request, context.limits.responseTimeoutMs * 3);
        const judged = judgeMessage(request['method'] as MethodName, response);
        if (judged.verdict !== 'valid' || errorOf(response) !== null) {
          fail(
            `a request of ${JSON.stringify(request).length} bytes must be served: ${judged.reason || JSON.stringify(response['error']).slice(0, 160)}`,
          );
        }
        return `served a ${Math.round(JSON.stringify(request).length / 1024)} KiB request`;
      },
    });
  }
  return scenarios;
}

/** Whether a fixture is something the kit sends to a sidecar of `kind` (requests and notifications of its methods). */
export function isPlayable(fixture: Fixture, kind: SidecarKind): boolean {
  const lifecycle: readonly MethodName[] = ['initialize', 'shutdown', '$/ping', '$/cancelRequest'];
  if (!lifecycle.includes(fixture.method) && !(kind.methods as readonly MethodName[]).includes(fixture.method))
    return false;
  if (fixture.expected === 'invalidResult') return false;
  if (fixture.expected === 'invalidEnvelope') return true;
  const message = fixture.message as Record<string, unknown>;
  return typeof message === 'object' && message !== null && Object.hasOwn(message, 'method');
}

/** A scenario that plays one fixture and checks the answer its verdict calls for. */
export function fixtureScenario(fixture: Fixture): Scenario {
  const fresh =
    fixture.method === 'initialize' || fixture.method === 'shutdown' || fixture.expected === 'invalidEnvelope';
  return {
    name: `fixture ${fixture.path}`,
    ...(fresh ? {} : { lane: 'shared' as const }),
    run: async (context, shared) => {
      const helper = fresh
        ? fixture.method === 'initialize'
          ? context.start()
          : await context.initialized()
        : await shared();
      return playFixture(helper, fixture, context);
    },
  };
}

async function playFixture(helper: HelperProcess, fixture: Fixture, context: ScenarioContext): Promise<string> {
  const message = fixture.message as Record<string, unknown>;
  const isRequest = Object.hasOwn(message, 'id');
  const timeoutMs = context.limits.responseTimeoutMs;
  switch (fixture.expected) {
    case 'valid': {
      if (!isRequest) {
        helper.send(message);
        await expectAlive(helper, context.limits, 'this notification');
        return 'accepted without a response';
      }
      const response = await call(helper, message, timeoutMs);
      const error = errorOf(response);
      if (error !== null) {
        if (clientFaultCodes.has(error.code))
          fail(`a valid request was refused with ${error.code}: ${error.message.slice(0, 160)}`);
        if (
          fixture.method === 'initialize' ||
          fixture.method === 'shutdown' ||
          context.kind.requiresResult(message['params'])
        ) {
          fail(`a valid request must get a result, got error ${error.code}: ${error.message.slice(0, 160)}`);
        }
        return `failed upstream with ${error.code}, allowed for this request`;
      }
      const judged = judgeMessage(fixture.method, response);
      if (judged.verdict !== 'valid') fail(`the result breaks the schema: ${judged.reason}`);
      return 'valid result';
    }
    case 'invalidParams': {
      if (!isRequest) {
        helper.send(message);
        await expectAlive(helper, context.limits, 'a notification with invalid params');
        return 'ignored without a response';
      }
      expectError(await call(helper, message, timeoutMs), [ErrorCode.invalidParams], fixture.why);
      return `refused with ${ErrorCode.invalidParams}`;
    }
    case 'invalidEnvelope':
      helper.send(message);
      return expectRefusedOrClosed(helper, [ErrorCode.invalidRequest], context.limits, fixture.why);
    case 'invalidResult':
      return 'not played: it is a response only the kernel checks';
    default:
      return assertNever(fixture.expected);
  }
}
