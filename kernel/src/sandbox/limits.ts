/** Every bound the sandbox module enforces or defaults to, in one place. */
export const Limits = {
  /** Default wall-clock budget of one run. */
  timeoutMs: 10 * 60 * 1000,
  /** Default head+tail cap of merged output kept in memory. */
  outputBytesMax: 1024 * 1024,
  /** Default processes a run may have at once. */
  processesMax: 256,
  /** Default largest file a process may write (RLIMIT_FSIZE). */
  fileBytesMax: 256 * 1024 * 1024,
  /**
   * Default address space per process (RLIMIT_AS). Node reserves about 10 GiB for each
   * WebAssembly memory (undici's HTTP parser, es-module-lexer), so 4 GiB breaks ordinary test runners.
   */
  addressSpaceBytesMax: 16 * 1024 * 1024 * 1024,
  /** Default CPU seconds per process (RLIMIT_CPU). */
  cpuSeconds: 10 * 60,
  /** Default size of each private tmpfs (`/tmp`, `$HOME`, `tmpfs` mounts). */
  tmpfsBytesMax: 512 * 1024 * 1024,
  /** Processes the sandbox itself adds to the pids cgroup: bwrap outside and bwrap's init inside. */
  sandboxOwnProcesses: 2,
  /** Upper bound accepted for `timeoutMs`. */
  timeoutMsMax: 24 * 60 * 60 * 1000,
  /** Upper bound accepted for `outputBytesMax`. */
  outputBytesMaxMax: 64 * 1024 * 1024,
  /** Arguments, environment entries and mounts a spec may carry. */
  argvEntriesMax: 4096,
  envEntriesMax: 256,
  mountsMax: 256,
  /** After the kill, how long the sandbox waits for every process of the run to be gone. */
  reapWaitMs: 10_000,
  /** Poll interval while waiting for the process tree to be gone. */
  reapPollMs: 2,
  /**
   * How long removing a run's pids cgroup is retried while the kernel still calls it busy (it frees
   * a cgroup a moment after its last process is reaped), and the pause between tries.
   */
  cgroupRemoveWaitMs: 2_000,
  cgroupRemovePollMs: 5,
  /** An empty pids cgroup whose owner (named in it) is gone is removed by the next run after this. */
  orphanCgroupAgeMs: 60_000,
  /** An empty pids cgroup that names no owner is removed by the next run after this. */
  staleCgroupAgeMs: 10 * 60_000,
  /** Bytes of backend output (info fd, `--version`) read before giving up. */
  backendInfoBytesMax: 64 * 1024,
  /** How long the enforcement probe may take. */
  probeTimeoutMs: 20_000,
  /**
   * How long a probe success kept on disk is trusted (for the same binaries and host kernel);
   * after that the next process proves the backend again.
   */
  probeCacheAgeMsMax: 24 * 60 * 60 * 1000,
  /** Symlinks and shebang interpreters followed while resolving one toolchain program. */
  toolchainHopsMax: 8,
  /**
   * Directory entries walked per run, over all bound directories, looking for host Unix sockets
   * to mask; a run whose bound trees hold more is refused. About 2 µs per entry when cached.
   */
  mountScanEntriesMax: 1_000_000,
  /** Programs resolved from one command string. */
  toolchainProgramsMax: 16,
} as const;

/** The default per-run limits, ready to put in a `SandboxSpec`. */
export const defaultSandboxLimits = {
  processesMax: Limits.processesMax,
  fileBytesMax: Limits.fileBytesMax,
  addressSpaceBytesMax: Limits.addressSpaceBytesMax,
  cpuSeconds: Limits.cpuSeconds,
  tmpfsBytesMax: Limits.tmpfsBytesMax,
} as const;
