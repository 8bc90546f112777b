/**
 * The sandbox: runs untrusted commands (the verify command, workers) with no network, a cleared
 * environment, only the tree and the toolchain visible, bounded resources and output, and the
 * whole process tree killed at the end. See docs/sandbox.md for every allowance and denial.
 */
export type {
  RunSandboxedResult,
  SandboxError,
  SandboxLimits,
  SandboxMount,
  SandboxOutput,
  SandboxResult,
  SandboxSpec,
} from './types.js';
export type { SandboxBackend } from './backend.js';
export type { ProbeOptions, ProbeResult } from './probe.js';
export type { Toolchain, ToolchainOptions } from './toolchain.js';
export { runSandboxed, defaultToolchain } from './run-sandboxed.js';
export { probeBackend } from './probe.js';
export { resolveToolchain } from './toolchain.js';
export { defaultSandboxEnv, sandboxHome, systemPathEntries } from './default-env.js';
export { Limits, defaultSandboxLimits } from './limits.js';
export { seatbeltProfile } from './seatbelt-profile.js';
export type { SeatbeltInput } from './seatbelt-profile.js';
