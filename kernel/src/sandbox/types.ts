/**
 * The sandbox's public data types: what a caller asks for (`SandboxSpec`), what it gets back
 * (`SandboxResult`) and the expected failures (`SandboxError`).
 */
import type { Toolchain } from './toolchain.js';

/** One mount inside the sandbox. Paths are absolute host/sandbox paths computed at runtime. */
export type SandboxMount =
  | { readonly kind: 'bindReadOnly'; readonly source: string; readonly target: string }
  | { readonly kind: 'bindWritable'; readonly source: string; readonly target: string }
  /**
   * An overlayfs at `target`: `lowers` are read-only layers, `lowers[0]` the topmost (the order
   * of overlayfs' `lowerdir=`); every write lands in `upper`; `work` is overlayfs' scratch dir
   * and must sit on the same filesystem as `upper`.
   */
  | {
      readonly kind: 'overlay';
      readonly lowers: readonly string[];
      readonly upper: string;
      readonly work: string;
      readonly target: string;
      /**
       * True only when every lower layer is a tree the kernel wrote itself in its private state
       * dir (a pristine base checkout) and that no sandbox ever gets writable: such layers are
       * not walked for host Unix sockets (no host process puts one there). `upper` always is.
       */
      readonly lowersWrittenByKernel?: boolean;
    }
  | { readonly kind: 'tmpfs'; readonly target: string };

/** The bounds a sandboxed run is held to. `Limits` in `limits.ts` holds the defaults. */
export interface SandboxLimits {
  /** Processes the run may have at once (pids cgroup when running as root, RLIMIT_NPROC otherwise). */
  readonly processesMax: number;
  /** RLIMIT_FSIZE: the largest file any process may write. */
  readonly fileBytesMax: number;
  /** RLIMIT_AS for every process. Node's WebAssembly needs about 10 GiB of address space. */
  readonly addressSpaceBytesMax: number;
  /** RLIMIT_CPU for every process (per process, not per tree). */
  readonly cpuSeconds: number;
  /** Size of each private tmpfs (`/tmp`, `$HOME` and `tmpfs` mounts). Defaults to `Limits.tmpfsBytesMax`. */
  readonly tmpfsBytesMax?: number;
}

/** Everything one sandboxed run needs; the sandbox adds the system dirs and the toolchain itself. */
export interface SandboxSpec {
  readonly backend: 'bwrap' | 'gvisor';
  /** Overrides the backend binary (doctor/tests point it at a missing or non-enforcing one). */
  readonly backendPath?: string;
  /** e.g. `['/bin/sh', '-c', verifyCommand]`; no shell is added implicitly. */
  readonly argv: readonly string[];
  /** Path inside the sandbox, usually the tree's target. */
  readonly cwd: string;
  /** The tree and anything extra. */
  readonly mounts: readonly SandboxMount[];
  /** The COMPLETE environment inside (see `defaultSandboxEnv`); nothing else leaks in. */
  readonly env: Readonly<Record<string, string>>;
  /** false = an isolated network namespace with only its own loopback; true only for an opted-in worker. */
  readonly network: boolean;
  /** Written to the child's stdin, then closed. */
  readonly stdin?: Uint8Array;
  readonly timeoutMs: number;
  /** Head+tail cap over merged stdout+stderr. */
  readonly outputBytesMax: number;
  /**
   * When set, the run's whole process tree is killed as soon as the merged output read passes
   * this many bytes (the caller's remaining output budget); `outputStopped` then reports it.
   * Absent: the run may print any amount until it exits or times out.
   */
  readonly outputBytesStop?: number;
  readonly limits: SandboxLimits;
  /**
   * The toolchain to bind read-only. When absent the sandbox resolves `argv` on the kernel's
   * own PATH with `resolveToolchain`.
   */
  readonly toolchain?: Toolchain;
}

/** Merged stdout+stderr, bounded. When `truncated` is false, `head + tail` is the whole output. */
export interface SandboxOutput {
  /** The first bytes (half the cap when truncated), decoded as UTF-8 at the end of the run. */
  readonly head: string;
  /** The last bytes (half the cap when truncated); the continuation of `head` otherwise. */
  readonly tail: string;
  /** Bytes the run produced, counted in full even when truncated. */
  readonly totalBytes: number;
  readonly truncated: boolean;
}

/** What a finished run reports. */
export interface SandboxResult {
  /** null when killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /**
   * True when the run was killed because its output passed `outputBytesStop`. Never true
   * together with `timedOut`: whichever kill came first is the one reported.
   */
  readonly outputStopped: boolean;
  readonly durationMs: number;
  readonly output: SandboxOutput;
  /** sha256 hex of the full output stream as produced (computed incrementally, never buffered whole). */
  readonly outputDigest: string;
  /**
   * True when the run tried to start more processes than `limits.processesMax` allows (the pids
   * cgroup refused a fork). Always false for a run bounded by RLIMIT_NPROC alone (an ordinary
   * user), which leaves no count to read. A run that hit the limit may have lost work to failed
   * forks even when it exited 0, so it must not pass a verify.
   */
  readonly processLimitHit: boolean;
}

/**
 * An expected failure to run at all. `detail` is one line: what failed, why, what to do.
 * `mountRefused`: a bound directory could not be fully checked for host Unix sockets (too many
 * entries, unreadable) or an overlay layer or a bind source is a socket.
 */
export type SandboxError = {
  readonly code: 'backendMissing' | 'backendNotEnforcing' | 'spawnFailed' | 'mountRefused';
  readonly detail: string;
};

/** The value `runSandboxed` resolves to; it never rejects for an operating failure. */
export type RunSandboxedResult =
  { readonly ok: true; readonly result: SandboxResult } | { readonly ok: false; readonly error: SandboxError };
