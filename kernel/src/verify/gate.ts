/**
 * The verify gate: runs the user's verify command in the sandbox against a fresh attempt tree
 * that holds exactly the derived patch, judges the patch's integrity beyond the exit code, and
 * mints a `VerifiedPatch` only from a clean pass. It is the only caller of `mintVerifiedPatch`.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Integrity } from '../core/index.js';
import type { Attempt, DerivedPatch } from '../attempt/index.js';
import {
  defaultSandboxEnv,
  defaultSandboxLimits,
  Limits as SandboxLimits,
  resolveToolchain,
  runSandboxed,
  systemPathEntries,
  type SandboxBackend,
  type RunSandboxedResult,
  type SandboxMount,
  type SandboxResult,
} from '../sandbox/index.js';
import {
  classifyProtected,
  DefaultProtectedRules,
  type ContentReader,
  type ProtectedRule,
  type ProtectedViolation,
} from './protected-paths.js';
import { mintVerifiedPatch, type MintRefusal, type VerifiedPatch } from './verified-patch.js';

/** Where the attempt tree appears inside the sandbox. */
export const sandboxTreePath = '/tree';

/** Dependency folders that are not in git but that a verify needs; bound read-only from the user's checkout. */
export const dependencyDirs: readonly string[] = ['node_modules', '.venv'];

/** How the host reaches the sandbox for one run. */
export interface SandboxChoice {
  readonly backend: SandboxBackend;
  readonly backendPath?: string;
  readonly timeoutMs: number;
  /** Kill the run once its output passes this many bytes (the task's remaining output budget). */
  readonly outputBytesStop?: number;
  /** The kernel's own PATH and home, where the verify command's toolchain is resolved. */
  readonly hostPath: string;
  readonly hostHome: string;
  /** Host paths that no toolchain bind may cover (the state dir). */
  readonly denyPaths: readonly string[];
}

/** What the gate concluded, before any VerifiedPatch exists. */
export interface GateRun {
  readonly result: SandboxResult;
  readonly integrity: Integrity;
  /** Protected changes the user accepted up front with `--allow-protected`. */
  readonly acceptedProtected: readonly ProtectedViolation[];
}

/** The mounts that make the dependency folders of the user's checkout visible, read-only. */
export function dependencyMounts(repoDir: string, target: string): SandboxMount[] {
  const mounts: SandboxMount[] = [];
  for (const name of dependencyDirs) {
    const source = join(repoDir, name);
    // A symlinked dependency folder could point anywhere on the host: never follow it.
    if (!existsSync(source) || !lstatSync(source).isDirectory()) continue;
    mounts.push({ kind: 'bindReadOnly', source, target: `${target}/${name}` });
  }
  return mounts;
}

/**
 * Judges a derived patch's protected-path changes: violations not covered by `allow` need
 * approval. `extraRules` (the user's config) are checked after the default rules, never instead.
 */
export function judgeIntegrity(
  patch: DerivedPatch,
  options: {
    readonly allow: readonly string[];
    readonly read: ContentReader;
    readonly extraRules?: readonly ProtectedRule[];
  },
): { readonly integrity: Integrity; readonly acceptedProtected: readonly ProtectedViolation[] } {
  const rules = [...DefaultProtectedRules, ...(options.extraRules ?? [])];
  const all = classifyProtected(patch.files, { rules, read: options.read });
  const remaining = classifyProtected(patch.files, { rules, read: options.read, allow: options.allow });
  const accepted = all.filter((v) => !remaining.some((r) => r.path === v.path && r.rule === v.rule));
  const integrity: Integrity =
    remaining.length > 0
      ? { verdict: 'protected', violations: remaining }
      : accepted.length > 0
        ? { verdict: 'clean', accepted }
        : { verdict: 'clean' };
  return { integrity, acceptedProtected: accepted };
}

/**
 * Adds what the run itself showed to the patch's integrity: a run that hit the process limit
 * (a fork was refused, so work may have been lost even on exit 0) is `broken`, whatever the
 * patch's own verdict, so neither a pass nor an approval can deliver it.
 */
export function withRunIntegrity(integrity: Integrity, result: Pick<SandboxResult, 'processLimitHit'>): Integrity {
  if (!result.processLimitHit) return integrity;
  const hit = { path: '', rule: 'processLimitHit' };
  return { verdict: 'broken', violations: integrity.verdict === 'clean' ? [hit] : [hit, ...integrity.violations] };
}

/**
 * Runs `command` with `sh -c` in the sandbox, in `attempt`'s tree with the checkout's dependency
 * folders read-only and the command's toolchain resolved on the host. The one place a sandboxed
 * run in an attempt is assembled: verify runs with no network and the fixed environment; a
 * worker may add only what the user granted.
 */
export function runInAttempt(input: {
  readonly attempt: Attempt;
  readonly repoDir: string;
  readonly command: string;
  readonly sandbox: SandboxChoice;
  readonly network: boolean;
  readonly grantedEnv?: Readonly<Record<string, string>>;
  readonly stdin?: Uint8Array;
}): Promise<RunSandboxedResult> {
  const argv = ['/bin/sh', '-c', input.command];
  const toolchain = resolveToolchain(argv, input.sandbox.hostPath, {
    home: input.sandbox.hostHome,
    denyPaths: input.sandbox.denyPaths,
  });
  const path = [...toolchain.pathEntries, ...systemPathEntries.filter((p) => !toolchain.pathEntries.includes(p))];
  return runSandboxed({
    backend: input.sandbox.backend,
    ...(input.sandbox.backendPath === undefined ? {} : { backendPath: input.sandbox.backendPath }),
    argv,
    cwd: sandboxTreePath,
    mounts: [...input.attempt.sandboxMounts(sandboxTreePath), ...dependencyMounts(input.repoDir, sandboxTreePath)],
    env: defaultSandboxEnv({ path: path.join(':'), extra: { ...toolchain.env, ...input.grantedEnv } }),
    network: input.network,
    ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
    timeoutMs: input.sandbox.timeoutMs,
    outputBytesMax: SandboxLimits.outputBytesMax,
    ...(input.sandbox.outputBytesStop === undefined ? {} : { outputBytesStop: input.sandbox.outputBytesStop }),
    limits: defaultSandboxLimits,
    toolchain,
  });
}

/** Runs the verify command in the sandbox on `attempt`, whose tree already holds the patch. */
export function runVerifyInSandbox(input: {
  readonly attempt: Attempt;
  readonly repoDir: string;
  readonly verifyCommand: string;
  readonly sandbox: SandboxChoice;
}): Promise<RunSandboxedResult> {
  return runInAttempt({ ...input, command: input.verifyCommand, network: false });
}

/** sha256 hex of bytes: how patch digests are computed everywhere in the kernel. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Mints the VerifiedPatch for a clean pass; anything else is refused with a reason. */
export function sealVerifiedPatch(input: {
  readonly taskId: string;
  readonly patch: DerivedPatch;
  readonly verifyCommand: string;
  readonly run: GateRun;
  readonly receipt: string;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
}): { readonly ok: true; readonly patch: VerifiedPatch } | { readonly ok: false; readonly refusal: MintRefusal } {
  if (input.run.integrity.verdict !== 'clean') {
    return { ok: false, refusal: { code: 'notPassing', detail: `integrity ${input.run.integrity.verdict}` } };
  }
  return mintVerifiedPatch(
    {
      taskId: input.taskId,
      baseCommit: input.patch.baseCommit,
      patch: input.patch.patch,
      patchDigest: input.patch.digest,
      treeDigest: input.patch.treeId,
      files: input.patch.files.map((f) => f.path),
      verifyCommand: input.verifyCommand,
      exitCode: input.run.result.exitCode,
      timedOut: input.run.result.timedOut,
      outputDigest: input.run.result.outputDigest,
      receipt: input.receipt,
      startedAtMs: input.startedAtMs,
      finishedAtMs: input.finishedAtMs,
    },
    sha256Hex,
  );
}

/** The verify evidence a task's log recorded for a patch (its `verifyFinished` event). */
export interface RecordedVerify {
  readonly patchDigest: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly outputDigest: string;
}

/**
 * Mints the VerifiedPatch of a task whose log shows it verified (a clean pass, or a protected
 * pass the user approved) after the run that verified it has ended. The evidence is the log's
 * own `verifyFinished`; the patch is the kernel's fresh re-derivation of the bytes it kept, so it
 * must carry exactly the logged digest. The caller checks that the log's task is verified.
 */
export function sealRecordedPatch(input: {
  readonly taskId: string;
  readonly patch: DerivedPatch;
  readonly verifyCommand: string;
  readonly verify: RecordedVerify;
  readonly receipt: string;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
}): { readonly ok: true; readonly patch: VerifiedPatch } | { readonly ok: false; readonly refusal: MintRefusal } {
  if (input.patch.digest !== input.verify.patchDigest) {
    return {
      ok: false,
      refusal: {
        code: 'digestMismatch',
        detail: `the kept patch derives to ${input.patch.digest}, but the log verified ${input.verify.patchDigest}`,
      },
    };
  }
  return mintVerifiedPatch(
    {
      taskId: input.taskId,
      baseCommit: input.patch.baseCommit,
      patch: input.patch.patch,
      patchDigest: input.verify.patchDigest,
      treeDigest: input.patch.treeId,
      files: input.patch.files.map((f) => f.path),
      verifyCommand: input.verifyCommand,
      exitCode: input.verify.exitCode,
      timedOut: input.verify.timedOut,
      outputDigest: input.verify.outputDigest,
      receipt: input.receipt,
      startedAtMs: input.startedAtMs,
      finishedAtMs: input.finishedAtMs,
    },
    sha256Hex,
  );
}

/** Reads a changed file's text on either side of the patch, for the content-aware protected rules. */
export function contentReader(base: ReadonlyMap<string, Buffer>, patchedTreeDir: string): ContentReader {
  return (path, side) => {
    if (side === 'base') return base.get(path)?.toString('utf8');
    const full = join(patchedTreeDir, path);
    try {
      if (!lstatSync(full).isFile()) return undefined;
      return readFileSync(full, 'utf8');
    } catch {
      return undefined;
    }
  };
}

/** One rule a patch broke (the core's `Violation`). */
type GateViolation = Extract<Integrity, { readonly verdict: 'broken' }>['violations'][number];

/** Reads one changed path on one side of the patch as text (a symlink's target), or undefined when absent. */
export type SideReader = (path: string) => string | undefined;

const markerPrefix = '[REDACTED:';

/** How many redaction markers `redact` adds to `text` (markers already in the text are not counted). */
function secretsIn(text: string, redact: (text: string) => string): number {
  const count = (value: string): number => value.split(markerPrefix).length - 1;
  return count(redact(text)) - count(text);
}

/**
 * The `secretInPatch` violations of a patch: a path whose name holds a known secret or a token
 * shape, or a changed file (or symlink target) with more secrets or token shapes after the patch
 * than before it. A secret must never be delivered into a repo or stored with a patch, so any hit
 * makes the patch `broken` (see `withSecretIntegrity`); removing a leaked token stays allowed.
 * Violation paths are themselves redacted.
 */
export function secretsInPatch(
  patch: DerivedPatch,
  options: {
    readonly redact: (text: string) => string;
    readonly readBase: SideReader;
    readonly readPatched: SideReader;
  },
): GateViolation[] {
  const violations: GateViolation[] = [];
  for (const file of patch.files) {
    const hit = { path: options.redact(file.path), rule: 'secretInPatch' };
    if (secretsIn(file.path, options.redact) > 0) {
      violations.push(hit);
      continue;
    }
    if (file.status === 'deleted') continue;
    const after = options.readPatched(file.path);
    if (after === undefined) continue;
    const before = options.readBase(file.path);
    const added = secretsIn(after, options.redact) - (before === undefined ? 0 : secretsIn(before, options.redact));
    if (added > 0) violations.push(hit);
  }
  return violations;
}

/** Adds `secretInPatch` violations to an integrity verdict: any makes it `broken`, which no approval can pass. */
export function withSecretIntegrity(integrity: Integrity, violations: readonly GateViolation[]): Integrity {
  if (violations.length === 0) return integrity;
  return {
    verdict: 'broken',
    violations: integrity.verdict === 'clean' ? violations : [...violations, ...integrity.violations],
  };
}
