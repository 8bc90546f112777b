import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../src/framing.js';
import type { RequestId } from '../src/jsonrpc.js';

/** Environment variables a helper inherits; everything else is cleared, as the kernel does. */
export const helperEnvironment = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/** Bytes of a helper's stderr kept for the report (the most recent ones). */
const stderrBytesMax = 16 * 1024;

/** How a helper process ended. */
export interface HelperExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A response from the helper, or why none came. */
export type Awaited =
  | { readonly kind: 'response'; readonly message: Record<string, unknown> }
  | { readonly kind: 'closed'; readonly reason: string }
  | { readonly kind: 'timeout' };

/** How to start the helper under test. */
export interface HelperCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One helper process under test: spawned directly (no shell) with a minimal environment in its
 * own process group, which {@link HelperProcess.kill} ends as a whole. Its stdout is decoded with
 * the protocol's strict framing; anything that is not a frame of JSON is recorded as a violation.
 * Requests the helper sends (such as `$/ping`) are answered so it is never left waiting.
 */
export class HelperProcess {
  readonly #child: Child;
  readonly #decoder = new FrameDecoder();
  readonly #inbox: Record<string, unknown>[] = [];
  readonly #waiters: (() => void)[] = [];
  readonly exited: Promise<HelperExit>;
  /** Notifications the helper sent, in order. */
  readonly notifications: Record<string, unknown>[] = [];
  #stderr = '';
  #stdoutViolation: string | null = null;
  #stdoutClosed = false;
  #exit: HelperExit | null = null;

  /** Spawns the helper. */
  constructor(command: HelperCommand) {
    const env: Record<string, string> = {};
    for (const key of helperEnvironment) {
      const value = process.env[key];
      if (value !== undefined) env[key] = value;
    }
    this.#child = spawn(command.command, [...command.args], {
      cwd: command.cwd,
      env,
      shell: false,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.#child.stdin.on('error', () => undefined);
    this.#child.stdout.on('data', (chunk: Buffer) => this.#receive(chunk));
    this.#child.stdout.on('end', () => {
      this.#stdoutClosed = true;
      this.#wake();
    });
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-stderrBytesMax);
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('error', (error) => {
        this.#stderr += `\n(spawn failed: ${error.message})`;
        this.#exit = { exitCode: null, signal: null };
        this.#stdoutClosed = true;
        resolve(this.#exit);
        this.#wake();
      });
      this.#child.on('exit', (exitCode, signal) => {
        this.#exit = { exitCode, signal };
        resolve(this.#exit);
        this.#wake();
      });
    });
  }

  /** The last part of the helper's stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Why stdout broke the framing rules, if it did. */
  get stdoutViolation(): string | null {
    return this.#stdoutViolation;
  }

  /** How the process ended, once it has. */
  get exit(): HelperExit | null {
    return this.#exit;
  }

  /** Frames and sends one message. */
  send(message: unknown): void {
    const framed = encodeFrame(JSON.stringify(message), Number.MAX_SAFE_INTEGER);
    if (!framed.ok) throw new Error(framed.error.message);
    this.sendRaw(framed.frame);
  }

  /** Sends raw bytes, framed or not. */
  sendRaw(bytes: Uint8Array | string): void {
    if (!this.#child.stdin.writable) return;
    this.#child.stdin.write(bytes);
  }

  /** Closes the helper's stdin (end of file). */
  endInput(): void {
    this.#child.stdin.end();
  }

  /** Waits for the response to `id`, skipping notifications; stray responses are kept for later. */
  async response(id: RequestId | null, timeoutMs: number): Promise<Awaited> {
    return this.#await(
      (message) => Object.hasOwn(message, 'id') && !Object.hasOwn(message, 'method') && message['id'] === id,
      timeoutMs,
    );
  }

  /** Waits for any response (whatever its id). */
  async anyResponse(timeoutMs: number): Promise<Awaited> {
    return this.#await((message) => Object.hasOwn(message, 'id') && !Object.hasOwn(message, 'method'), timeoutMs);
  }

  /** Waits for the process to exit, up to `timeoutMs`; null when it is still running. */
  async waitForExit(timeoutMs: number): Promise<HelperExit | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    const exit = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return exit;
  }

  /** Kills the helper's whole process group. */
  kill(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exit !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.#child.kill('SIGKILL');
    }
  }

  async #await(matches: (message: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Awaited> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#inbox.findIndex(matches);
      if (index !== -1) return { kind: 'response', message: this.#inbox.splice(index, 1)[0] ?? {} };
      if (this.#stdoutViolation !== null)
        return { kind: 'closed', reason: `stdout broke the framing: ${this.#stdoutViolation}` };
      if (this.#stdoutClosed) return { kind: 'closed', reason: 'the helper closed its stdout' };
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout' };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  #receive(chunk: Buffer): void {
    if (this.#stdoutViolation !== null) return;
    const batch = this.#decoder.push(chunk);
    for (const body of batch.bodies) {
      let message: unknown;
      try {
        message = JSON.parse(body);
      } catch {
        this.#stdoutViolation = 'a frame body is not JSON';
        break;
      }
      if (!isRecord(message)) {
        this.#stdoutViolation = 'a frame body is not a JSON object';
        break;
      }
      this.#route(message);
    }
    if (batch.error !== null && this.#stdoutViolation === null) this.#stdoutViolation = batch.error.message;
    this.#wake();
  }

  #route(message: Record<string, unknown>): void {
    const method = message['method'];
    if (typeof method !== 'string') {
      this.#inbox.push(message);
      return;
    }
    if (!Object.hasOwn(message, 'id')) {
      this.notifications.push(message);
      return;
    }
    // A request from the helper: answer `$/ping`, refuse anything else, as the kernel would.
    const id = message['id'];
    this.send(
      method === '$/ping'
        ? { jsonrpc: '2.0', id, result: null }
        : {
            jsonrpc: '2.0',
            id,
            error: { code: -32601, message: `the conformance kit does not handle ${method.slice(0, 64)}` },
          },
    );
  }
}
