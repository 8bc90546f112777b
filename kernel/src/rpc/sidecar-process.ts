import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { MethodName, ParamsOf, RequestMethod, ResultOf } from '@crustcore/protocol';
import { negotiate, protocolVersion } from '@crustcore/protocol';
import type { CallOptions } from './rpc-connection.js';
import { RpcConnection } from './rpc-connection.js';
import { RpcError } from './rpc-error.js';
import type { RpcLimits } from './rpc-limits.js';
import { defaultRpcLimits } from './rpc-limits.js';
import { TailBuffer } from './tail-buffer.js';

/** The only variables of the kernel's environment a sidecar inherits; secrets travel per call, never by env. */
export const inheritedEnvironment = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/** The methods the kernel itself handles, as announced in `initialize`. */
export const kernelMethods: readonly MethodName[] = ['$/ping', '$/progress', '$/cancelRequest'];

/** How to run one sidecar. */
export interface SidecarCommand {
  /** Name used in messages and logs, such as `net`. */
  readonly name: string;
  /** Executable; run directly, never through a shell. */
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Extra environment variables, added to the {@link inheritedEnvironment} allowlist. */
  readonly env?: Readonly<Record<string, string>>;
}

/** How a sidecar process ended. */
export interface SidecarExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link startSidecar}. */
export interface StartSidecarOptions {
  readonly limits?: Partial<RpcLimits>;
  /** The kernel's own name and version, sent in `initialize`. */
  readonly clientInfo?: { readonly name: string; readonly version: string };
}

type SidecarChild = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * A running, initialized sidecar: one child process in its own process group, one connection
 * over its stdio, its stderr kept in a bounded tail, and the facts agreed in the handshake.
 */
export class SidecarSession {
  /** The JSON-RPC connection over the child's stdin and stdout. */
  readonly connection: RpcConnection;
  /** The protocol version both sides agreed on. */
  readonly protocolVersion: string;
  /** The sidecar's self-description from `initialize`. */
  readonly serverInfo: { readonly name: string; readonly version: string };
  /** The methods the sidecar offered. */
  readonly offeredMethods: ReadonlySet<string>;
  readonly #process: SidecarProcess;

  /** Use {@link startSidecar}. */
  constructor(process: SidecarProcess, handshake: ResultOf<'initialize'>, agreedVersion: string) {
    this.#process = process;
    this.connection = process.connection;
    this.protocolVersion = agreedVersion;
    this.serverInfo = handshake.serverInfo;
    this.offeredMethods = new Set(handshake.capabilities.methods);
  }

  /** The child's process id. */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** How the process ended, once it has. */
  get exited(): Promise<SidecarExit> {
    return this.#process.exited;
  }

  /** The most recent stderr output (bounded by `stderrBytesMax`). May contain secrets: redact before showing. */
  stderrTail(): string {
    return this.#process.stderr.text();
  }

  /** Calls a method the sidecar offered; a method it did not offer is refused without being sent. */
  call<M extends RequestMethod>(method: M, params: ParamsOf<M>, options: CallOptions = {}): Promise<ResultOf<M>> {
    if (!this.offeredMethods.has(method)) {
      return Promise.reject(
        new RpcError('methodNotOffered', `sidecar '${this.#process.name}' did not offer ${method} in initialize`, {
          method,
        }),
      );
    }
    return this.connection.request(method, params, options);
  }

  /** Asks the sidecar to shut down, closes its stdin, and kills its process group if it lingers. */
  async shutdown(): Promise<SidecarExit> {
    try {
      await this.connection.request('shutdown', undefined, { timeoutMs: this.#process.limits.shutdownTimeoutMs });
    } catch {
      // A sidecar that cannot answer shutdown is killed below; its reason is not needed here.
    }
    this.connection.close(new RpcError('connectionClosed', `sidecar '${this.#process.name}' was shut down`));
    return this.#process.waitOrKill(this.#process.limits.shutdownTimeoutMs);
  }

  /** Kills the sidecar's process group at once. */
  kill(): void {
    this.#process.kill();
  }
}

/** The process half of a sidecar: spawn, stdio wiring, exit tracking. Internal to this folder. */
class SidecarProcess {
  readonly name: string;
  readonly limits: RpcLimits;
  readonly stderr: TailBuffer;
  readonly connection: RpcConnection;
  readonly exited: Promise<SidecarExit>;
  readonly #child: SidecarChild;
  #exit: SidecarExit | null = null;
  #spawnError: Error | null = null;
  #graceTimer: NodeJS.Timeout | null = null;

  constructor(command: SidecarCommand, limits: RpcLimits) {
    this.name = command.name;
    this.limits = limits;
    this.stderr = new TailBuffer(limits.stderrBytesMax);
    const env: Record<string, string> = {};
    for (const key of inheritedEnvironment) {
      const value = process.env[key];
      if (value !== undefined) env[key] = value;
    }
    Object.assign(env, command.env);
    this.#child = spawn(command.command, [...command.args], {
      cwd: command.cwd,
      env,
      shell: false,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.connection = new RpcConnection({
      input: this.#child.stdout,
      output: this.#child.stdin,
      role: 'kernel',
      peerName: `sidecar '${command.name}'`,
      limits,
      onTransportEnded: () => this.#streamEnded(),
    });
    this.#child.stderr.on('data', (chunk: Buffer) => this.stderr.write(chunk));
    this.exited = new Promise((resolve) => {
      this.#child.on('error', (error) => {
        this.#spawnError = error;
        resolve({ exitCode: null, signal: null });
        this.connection.close(
          new RpcError('spawnFailed', `could not start sidecar '${this.name}' (${command.command}): ${error.message}`),
        );
      });
      this.#child.on('exit', (exitCode, signal) => {
        this.#exit = { exitCode, signal };
        resolve(this.#exit);
        // Give stdout a moment to deliver what the process wrote before it exited.
        this.#armGrace(() => this.#closeExited());
      });
      this.#child.on('close', () => {
        if (this.#exit !== null) this.#closeExited();
      });
    });
    this.connection.onClose(() => {
      if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  kill(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exit !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.#child.kill('SIGKILL');
    }
  }

  async waitOrKill(timeoutMs: number): Promise<SidecarExit> {
    if (this.#spawnError !== null) return { exitCode: null, signal: null };
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  #armGrace(action: () => void): void {
    if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(action, this.limits.exitGraceMs);
  }

  #streamEnded(): void {
    if (this.#exit !== null) return this.#closeExited();
    // Stdout closed or failed while the process still runs: wait briefly for its exit, then kill it.
    this.#armGrace(() => {
      if (this.#exit !== null) return this.#closeExited();
      this.connection.close(
        new RpcError('connectionClosed', `sidecar '${this.name}' closed its stdout but kept running; killed it`),
      );
      this.kill();
    });
  }

  #closeExited(): void {
    if (this.connection.closedReason !== null || this.#spawnError !== null) return;
    const exit = this.#exit ?? { exitCode: null, signal: null };
    const how = exit.signal === null ? `with code ${exit.exitCode ?? 'unknown'}` : `on signal ${exit.signal}`;
    this.connection.close(
      new RpcError('sidecarExited', `sidecar '${this.name}' exited ${how}; see its stderr, then restart it`, {
        details: { exitCode: exit.exitCode, signal: exit.signal, stderrTail: this.stderr.text() },
      }),
    );
  }
}

/**
 * Spawns a sidecar (no shell, allowlisted environment, own process group, piped stdio) and runs
 * the `initialize` handshake. Rejects with `spawnFailed`, `versionMismatch` (the process is then
 * killed) or whatever the handshake call failed with.
 */
export async function startSidecar(
  command: SidecarCommand,
  options: StartSidecarOptions = {},
): Promise<SidecarSession> {
  const limits = { ...defaultRpcLimits, ...options.limits };
  const child = new SidecarProcess(command, limits);
  let handshake: ResultOf<'initialize'>;
  try {
    handshake = await child.connection.request(
      'initialize',
      {
        protocolVersion,
        clientInfo: options.clientInfo ?? { name: 'crustcore', version: '0.1.0' },
        capabilities: { methods: [...kernelMethods] },
      },
      { timeoutMs: limits.handshakeTimeoutMs },
    );
  } catch (error) {
    child.kill();
    throw error;
  }
  const agreed = negotiate(protocolVersion, handshake.protocolVersion);
  if (!agreed.ok) {
    const refusal = new RpcError('versionMismatch', `sidecar '${command.name}' refused: ${agreed.message}`);
    child.connection.close(refusal);
    child.kill();
    throw refusal;
  }
  return new SidecarSession(child, handshake, agreed.version);
}
