/**
 * Sidecar supervision: one supervisor keeps one sidecar usable for the kernel. It starts the
 * sidecar through `startSidecar` (no shell, allow-listed environment, handshake), pings it on a
 * heartbeat, bounds every call by a timeout, and restarts it with exponential backoff when it
 * dies or stops answering. Too many failures in a window open a circuit breaker: calls then fail
 * fast with a typed error until the breaker's cool-down has passed. A sidecar failure is always a
 * typed, one-line `SupervisorError` for the caller to record, never a hang.
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParamsOf, RequestMethod, ResultOf } from '@crustcore/protocol';
import { RpcError, startSidecar, type ProgressValue, type SidecarCommand, type SidecarSession } from '../rpc/index.js';
import { assertNever } from '../core/index.js';
import type { Config } from './config.js';

/** Bounds of supervision, with the unit last in each name. */
export const SupervisorLimits = {
  /** Time between two `$/ping` heartbeats. */
  heartbeatIntervalMs: 5_000,
  /** Time a heartbeat may take before the sidecar counts as hung and is restarted. */
  heartbeatTimeoutMs: 3_000,
  /** Timeout of a call that does not give its own. */
  callTimeoutMs: 10 * 60_000,
  /** First restart delay; doubled for each consecutive failure. */
  restartDelayMs: 100,
  /** Longest restart delay. */
  restartDelayMsMax: 10_000,
  /** Failures within `breakerWindowMs` that open the breaker. */
  breakerFailuresMax: 3,
  breakerWindowMs: 60_000,
  /** How long an open breaker refuses calls before it lets one start attempt through. */
  breakerOpenMs: 30_000,
  /** Characters of the sidecar's stderr tail kept in an error (after redaction). */
  stderrTailCharsMax: 2_000,
} as const;

/** The supervisor's bounds; tests shorten them. */
export type SupervisorTiming = { readonly [K in keyof typeof SupervisorLimits]: number };

/** Why a supervised call failed; switch on it exhaustively. */
export type SupervisorErrorCode =
  /** The sidecar exited, broke the protocol or was killed (a missed heartbeat) during the call. */
  | 'sidecarExited'
  /** The sidecar could not be started or failed its handshake. */
  | 'startFailed'
  /** The breaker is open after repeated failures; the call was not sent. */
  | 'circuitOpen'
  /** The call got no answer within its timeout; it was cancelled. */
  | 'timeout'
  /** The caller cancelled the call. */
  | 'cancelled'
  /** The sidecar answered with a protocol error (an upstream or params failure). */
  | 'remoteError'
  /** The sidecar's result failed the method's result schema. */
  | 'invalidResult'
  /** The kernel refused to send the call (bad params, too large, method not offered). */
  | 'callRefused'
  /** The supervisor was closed. */
  | 'closed';

/** A supervised call's failure: one line that says what failed, why and what to do. */
export class SupervisorError extends Error {
  override readonly name = 'SupervisorError';
  readonly code: SupervisorErrorCode;
  /** The sidecar's redacted stderr tail, when the sidecar died; empty otherwise. */
  readonly stderrTail: string;

  /** Creates an error; `message` must already be redacted. */
  constructor(code: SupervisorErrorCode, message: string, stderrTail = '') {
    super(message);
    this.code = code;
    this.stderrTail = stderrTail;
  }
}

/** What the supervisor reports as it works, for progress lines and tests. */
export type SupervisorEvent =
  | { readonly kind: 'started'; readonly pid: number | undefined; readonly starts: number }
  | { readonly kind: 'failed'; readonly reason: string; readonly failuresInWindow: number }
  | { readonly kind: 'heartbeatMissed'; readonly pid: number | undefined }
  | { readonly kind: 'circuitOpened'; readonly untilMs: number };

/** How to build a supervisor. */
export interface SupervisorOptions {
  readonly command: SidecarCommand;
  /** Redacts text from the sidecar (stderr, error messages) before it leaves the supervisor. */
  readonly redact?: (text: string) => string;
  readonly onEvent?: (event: SupervisorEvent) => void;
  readonly timing?: Partial<SupervisorTiming>;
  /** The clock, injectable for tests. */
  readonly nowMs?: () => number;
}

/** Per-call options. */
export interface SupervisedCallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (value: ProgressValue) => void;
}

/**
 * Keeps one sidecar alive for the kernel. Not shared between runs: each run makes its own and
 * closes it at the end.
 */
export class SidecarSupervisor {
  readonly #command: SidecarCommand;
  readonly #redact: (text: string) => string;
  readonly #onEvent: (event: SupervisorEvent) => void;
  readonly #timing: SupervisorTiming;
  readonly #nowMs: () => number;
  /** Sessions the supervisor itself retired, so their close is not counted twice. */
  readonly #retired = new WeakSet<SidecarSession>();
  #session: SidecarSession | null = null;
  #starting: Promise<SidecarSession> | null = null;
  #failureTimesMs: number[] = [];
  #consecutiveFailures = 0;
  #openUntilMs = 0;
  /** The breaker was open and one start is being tried: its failure reopens the breaker at once. */
  #halfOpen = false;
  #starts = 0;
  #heartbeat: NodeJS.Timeout | null = null;
  #pinging = false;
  #closed = false;

  /** Creates a supervisor; the sidecar starts with the first call (or `start`). */
  constructor(options: SupervisorOptions) {
    this.#command = options.command;
    this.#redact = options.redact ?? ((text) => text);
    this.#onEvent = options.onEvent ?? (() => undefined);
    this.#timing = { ...SupervisorLimits, ...options.timing };
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** The running sidecar's process id, or undefined when none runs. */
  get pid(): number | undefined {
    return this.#session?.pid;
  }

  /** How many times a sidecar process was started. */
  get starts(): number {
    return this.#starts;
  }

  /** True while the breaker refuses calls. */
  get circuitOpen(): boolean {
    return this.#nowMs() < this.#openUntilMs;
  }

  /** Starts the sidecar now if it is not running; resolves once the handshake is done. */
  async start(): Promise<void> {
    await this.#ready();
  }

  /** Calls `method` on the sidecar, starting or restarting it as needed. Throws `SupervisorError`. */
  async call<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M>,
    options: SupervisedCallOptions = {},
  ): Promise<ResultOf<M>> {
    const session = await this.#ready();
    try {
      return await session.call(method, params, {
        timeoutMs: options.timeoutMs ?? this.#timing.callTimeoutMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
    } catch (error) {
      throw this.#translate(error, session);
    }
  }

  /** Shuts the sidecar down politely (shutdown, stdin EOF, kill if it lingers) and stops supervising. */
  async close(): Promise<void> {
    const session = this.#stop();
    if (session !== null) await session.shutdown();
  }

  /** Kills the sidecar's process group at once and stops supervising; for synchronous clean-up. */
  dispose(): void {
    this.#stop()?.kill();
  }

  #stop(): SidecarSession | null {
    this.#closed = true;
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    const session = this.#session;
    this.#session = null;
    if (session !== null) this.#retired.add(session);
    return session;
  }

  async #ready(): Promise<SidecarSession> {
    if (this.#closed) throw new SupervisorError('closed', `sidecar '${this.#command.name}': the supervisor was closed`);
    if (this.#session !== null) return this.#session;
    if (this.#starting !== null) return this.#starting;
    if (this.circuitOpen) {
      const seconds = Math.ceil((this.#openUntilMs - this.#nowMs()) / 1000);
      throw new SupervisorError(
        'circuitOpen',
        `sidecar '${this.#command.name}' failed ${this.#timing.breakerFailuresMax} times within ${this.#timing.breakerWindowMs} ms; not calling it for ${seconds} s (see its stderr, fix it, then retry)`,
      );
    }
    this.#halfOpen = this.#openUntilMs > 0;
    return this.#startAfter(this.#consecutiveFailures === 0 || this.#halfOpen ? 0 : this.#backoffMs());
  }

  #backoffMs(): number {
    const exponent = Math.max(0, this.#consecutiveFailures - 1);
    return Math.min(this.#timing.restartDelayMsMax, this.#timing.restartDelayMs * 2 ** Math.min(exponent, 30));
  }

  #startAfter(delayMs: number): Promise<SidecarSession> {
    const starting = (async (): Promise<SidecarSession> => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      if (this.#closed)
        throw new SupervisorError('closed', `sidecar '${this.#command.name}': the supervisor was closed`);
      let session: SidecarSession;
      try {
        this.#starts++;
        session = await startSidecar(this.#command);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.#recordFailure(message);
        throw new SupervisorError(
          'startFailed',
          this.#redact(`sidecar '${this.#command.name}' did not start: ${message}`),
          this.#tailOf(error),
        );
      }
      if (this.#closed) {
        session.kill();
        throw new SupervisorError('closed', `sidecar '${this.#command.name}': the supervisor was closed`);
      }
      this.#adopt(session);
      return session;
    })();
    this.#starting = starting;
    const clear = (): void => {
      if (this.#starting === starting) this.#starting = null;
    };
    starting.then(clear, clear);
    return starting;
  }

  #adopt(session: SidecarSession): void {
    this.#session = session;
    this.#consecutiveFailures = 0;
    this.#openUntilMs = 0;
    this.#halfOpen = false;
    this.#onEvent({ kind: 'started', pid: session.pid, starts: this.#starts });
    session.connection.onClose((reason) => {
      if (this.#retired.has(session)) return;
      this.#retired.add(session);
      if (this.#session === session) this.#session = null;
      this.#recordFailure(reason.message);
      this.#scheduleRestart();
    });
    if (this.#heartbeat === null) {
      this.#heartbeat = setInterval(() => void this.#beat(), this.#timing.heartbeatIntervalMs);
      this.#heartbeat.unref();
    }
  }

  async #beat(): Promise<void> {
    const session = this.#session;
    if (session === null || this.#pinging) return;
    this.#pinging = true;
    try {
      await session.connection.request('$/ping', undefined, { timeoutMs: this.#timing.heartbeatTimeoutMs });
    } catch {
      if (this.#session !== session || this.#retired.has(session)) return;
      // A sidecar that cannot answer a ping cannot answer a call: kill it, so pending calls fail now.
      this.#retired.add(session);
      this.#session = null;
      this.#onEvent({ kind: 'heartbeatMissed', pid: session.pid });
      this.#recordFailure(`missed a heartbeat within ${this.#timing.heartbeatTimeoutMs} ms`);
      session.kill();
      this.#scheduleRestart();
    } finally {
      this.#pinging = false;
    }
  }

  #scheduleRestart(): void {
    if (this.#closed || this.circuitOpen || this.#starting !== null) return;
    // A failed eager restart is recorded by #startAfter; nobody awaits it, so swallow the rejection.
    this.#startAfter(this.#backoffMs()).catch(() => undefined);
  }

  #recordFailure(reason: string): void {
    const nowMs = this.#nowMs();
    this.#consecutiveFailures++;
    this.#failureTimesMs = [...this.#failureTimesMs, nowMs].filter(
      (atMs) => nowMs - atMs < this.#timing.breakerWindowMs,
    );
    const failuresInWindow = this.#failureTimesMs.length;
    this.#onEvent({ kind: 'failed', reason: this.#redact(reason), failuresInWindow });
    if (failuresInWindow >= this.#timing.breakerFailuresMax || this.#halfOpen) {
      this.#halfOpen = false;
      this.#openUntilMs = nowMs + this.#timing.breakerOpenMs;
      this.#failureTimesMs = [];
      this.#onEvent({ kind: 'circuitOpened', untilMs: this.#openUntilMs });
    }
  }

  #tailOf(error: unknown): string {
    const tail = error instanceof RpcError ? error.details['stderrTail'] : undefined;
    if (typeof tail !== 'string' || tail === '') return '';
    return this.#redact(tail.slice(-this.#timing.stderrTailCharsMax));
  }

  #translate(error: unknown, session: SidecarSession): SupervisorError {
    if (!(error instanceof RpcError)) {
      return new SupervisorError('callRefused', this.#redact(`sidecar call failed: ${String(error)}`));
    }
    const message = this.#redact(error.message);
    switch (error.code) {
      case 'sidecarExited':
      case 'connectionClosed':
      case 'protocolViolation': {
        const tail = this.#tailOf(error) || this.#redact(session.stderrTail().slice(-this.#timing.stderrTailCharsMax));
        return new SupervisorError('sidecarExited', message, tail);
      }
      case 'spawnFailed':
      case 'versionMismatch':
        return new SupervisorError('startFailed', message);
      case 'timeout':
        return new SupervisorError('timeout', message);
      case 'cancelled':
        return new SupervisorError('cancelled', message);
      case 'remoteError':
        return new SupervisorError('remoteError', message);
      case 'invalidResult':
        return new SupervisorError('invalidResult', message);
      case 'invalidParams':
      case 'requestTooLarge':
      case 'tooManyPendingCalls':
      case 'methodNotOffered':
        return new SupervisorError('callRefused', message);
      default:
        return assertNever(error.code);
    }
  }
}

/**
 * Where the bundled net sidecar lives, found from this module's own location: the kernel bundle
 * is `<root>/kernel/dist/crustcore.js`, this source file `<root>/kernel/src/host/…`; both give
 * `<root>/sidecars/net/dist/main.js`, which `npm run build` writes.
 */
export function bundledNetSidecarPath(moduleUrl: string = import.meta.url): string {
  const parts = fileURLToPath(moduleUrl).split(sep);
  const kernelAt = parts.lastIndexOf('kernel');
  const root = kernelAt > 0 ? parts.slice(0, kernelAt).join(sep) || sep : process.cwd();
  return join(root, 'sidecars', 'net', 'dist', 'main.js');
}

/**
 * The command that starts sidecar `name`: the configured argv (`sidecars.<name>.command`), else
 * the bundled default (only `net` has one: this node running the net bundle). Returns a one-line
 * error when there is none or the bundle is missing.
 */
export function sidecarCommandFor(
  name: string,
  config: Pick<Config, 'sidecars' | 'path'>,
  bundledNetPath: string = bundledNetSidecarPath(),
):
  | { readonly ok: true; readonly command: SidecarCommand; readonly bundled: boolean }
  | { readonly ok: false; readonly message: string } {
  const configured = Object.hasOwn(config.sidecars, name) ? config.sidecars[name] : undefined;
  if (configured !== undefined) {
    const [program, ...args] = configured;
    if (program === undefined) return { ok: false, message: `config: sidecars.${name}.command is empty` };
    return { ok: true, command: { name, command: program, args }, bundled: false };
  }
  if (name !== 'net') {
    return {
      ok: false,
      message: `no command for sidecar '${name}'; set sidecars.${name}.command in ${config.path ?? 'the config'}`,
    };
  }
  if (!existsSync(bundledNetPath)) {
    return {
      ok: false,
      message: `the net sidecar bundle ${bundledNetPath} is missing; run npm run build (or set sidecars.net.command in the config)`,
    };
  }
  return { ok: true, command: { name, command: process.execPath, args: [bundledNetPath] }, bundled: true };
}
