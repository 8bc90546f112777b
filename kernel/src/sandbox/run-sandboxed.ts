/**
 * `runSandboxed`: the one way the kernel runs untrusted commands (verify, workers). It refuses
 * to run on a backend that has not passed the enforcement probe in this process.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNever } from '../core/assert.js';
import { findBackendBinary, findTool, outerShell } from './backend.js';
import {
  bwrapArguments,
  rlimitPrelude,
  systemEtc,
  systemTopLevel,
  type SystemLayout,
  type TopLevelDir,
} from './bwrap-args.js';
import { sandboxHome } from './default-env.js';
import { Limits } from './limits.js';
import { probeBackend } from './probe.js';
import { createProcessBound, releaseProcessBound, type ProcessBound } from './process-bound.js';
import { planSocketMasks } from './socket-masks.js';
import { checkSpec } from './spec-check.js';
import { spawnSandbox } from './spawn-sandbox.js';
import { resolveToolchain, type Toolchain } from './toolchain.js';
import type { RunSandboxedResult, SandboxMount, SandboxSpec } from './types.js';

type OverlayMount = Extract<SandboxMount, { readonly kind: 'overlay' }>;

/**
 * Runs `spec.argv` in the sandbox and reports exit status, bounded output and its digest.
 * Never rejects for an operating failure (backend missing or not enforcing, spawn failed):
 * those are values. Throws a TypeError only for an invalid spec (a caller bug).
 */
export async function runSandboxed(spec: SandboxSpec): Promise<RunSandboxedResult> {
  checkSpec(spec);
  const probe = await probeBackend(spec.backend, spec.backendPath);
  if (!probe.ok) return { ok: false, error: { code: probe.code, detail: probe.detail } };
  return runUnprobed(spec, {});
}

/**
 * Runs without consulting the probe; only the probe itself calls this. `outerEnv` adds variables
 * to the environment of the backend process (the probe plants a canary there).
 */
export async function runUnprobed(
  spec: SandboxSpec,
  outerEnv: Readonly<Record<string, string>>,
): Promise<RunSandboxedResult> {
  checkSpec(spec);
  const binary = findBackendBinary(spec.backend, spec.backendPath);
  if (binary === null) {
    return {
      ok: false,
      error: {
        code: 'backendMissing',
        detail: `sandbox backend ${spec.backend} not found${spec.backendPath === undefined ? '' : ` at ${spec.backendPath}`}; install it or choose another backend.`,
      },
    };
  }
  const prlimit = findTool('prlimit');
  if (prlimit === null || !(prlimit.startsWith('/usr/') || prlimit.startsWith('/bin/'))) {
    return notEnforcing(
      'util-linux prlimit was not found under /usr or /bin, so rlimits cannot be applied; install util-linux.',
    );
  }
  const runId = randomBytes(8).toString('hex');
  const uid = process.getuid?.() ?? -1;
  const boundResult = createProcessBound(spec.limits.processesMax, runId, { uid });
  if (!boundResult.ok) return notEnforcing(boundResult.detail);
  const bound = boundResult.bound;
  const baseEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...outerEnv };
  try {
    switch (spec.backend) {
      case 'bwrap':
        return await runBwrap(spec, binary, prlimit, bound, baseEnv);
      case 'gvisor':
        return await spawnSandbox({
          command: outerShell(),
          args: ['-c', outerScript, 'crustcore-sandbox', procsFileOf(bound), ...gvisorArguments(binary, prlimit, spec)],
          env: { ...spec.env, ...outerEnv },
          stdin: spec.stdin,
          timeoutMs: spec.timeoutMs,
          outputBytesMax: spec.outputBytesMax,
          outputBytesStop: spec.outputBytesStop,
          bound,
        });
      default:
        return assertNever(spec.backend);
    }
  } finally {
    await releaseProcessBound(bound);
  }
}

/**
 * gVisor's `runsc do` runs the command in a user-space kernel with no network. It shows the
 * host root read-only through an overlay, so it fails the probe's visibility check until an
 * OCI-bundle runner with the same mounts as bwrap replaces it.
 */
export function gvisorArguments(binary: string, prlimit: string, spec: SandboxSpec): readonly string[] {
  return [
    binary,
    `--network=${spec.network ? 'host' : 'none'}`,
    'do',
    '--cwd',
    spec.cwd,
    '--',
    ...rlimitPrelude(prlimit, spec),
    ...spec.argv,
  ];
}

async function runBwrap(
  spec: SandboxSpec,
  binary: string,
  prlimit: string,
  bound: ProcessBound,
  baseEnv: Readonly<Record<string, string>>,
): Promise<RunSandboxedResult> {
  const overlays = spec.mounts.flatMap((mount) => (mount.kind === 'overlay' ? [mount] : []));
  const unshare = overlays.length > 0 ? findTool('unshare') : null;
  const mount = overlays.length > 0 ? findTool('mount') : null;
  if (overlays.length > 0 && (unshare === null || mount === null)) {
    return {
      ok: false,
      error: { code: 'spawnFailed', detail: 'overlay mounts need util-linux unshare and mount; install util-linux.' },
    };
  }
  const toolchain = spec.toolchain ?? defaultToolchain(spec);
  const socketMasks = planSocketMasks(spec.mounts, Limits.mountScanEntriesMax);
  if (!socketMasks.ok) return { ok: false, error: { code: 'mountRefused', detail: socketMasks.detail } };
  const staging = mkdtempSync(join(tmpdir(), 'crustcore-sandbox-'));
  try {
    writeEtc(staging, spec);
    const overlayMountPoints = overlays.map((_, index) => {
      const dir = join(staging, `overlay-${index}`);
      mkdirSync(dir);
      return dir;
    });
    const args = bwrapArguments({
      spec,
      toolchain,
      layout: systemLayout(),
      etcDir: staging,
      overlayMountPoints,
      prlimitPath: prlimit,
      infoFd: 3,
      socketMasks: socketMasks.masks,
    });
    const overlayStage =
      unshare === null || mount === null
        ? []
        : [
            unshare,
            '--user',
            '--map-root-user',
            '--mount',
            '--propagation',
            'private',
            '/bin/sh',
            '-c',
            overlayScript,
            'crustcore-overlay',
            mount,
            String(overlays.length),
            ...overlays.flatMap((overlay, index) => [overlayOptions(overlay), overlayMountPoints[index] ?? '']),
          ];
    return await spawnSandbox({
      command: outerShell(),
      args: ['-c', outerScript, 'crustcore-sandbox', procsFileOf(bound), ...overlayStage, binary, ...args],
      env: baseEnv,
      stdin: spec.stdin,
      timeoutMs: spec.timeoutMs,
      outputBytesMax: spec.outputBytesMax,
      outputBytesStop: spec.outputBytesStop,
      bound,
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Runs on the host before the backend: merges stderr into stdout, closes descriptors the kernel
 * inherited (bash only; sh cannot name fds above 9) except the info fd 3, joins the run's pids
 * cgroup, then execs the rest of argv. Every step is an exec, so the process the kernel spawned
 * ends up being the backend itself, leading its own process group.
 */
const outerScript = `exec 2>&1
if [ -n "\${BASH_VERSION:-}" ]; then
  for fd in /proc/self/fd/*; do
    n=\${fd##*/}
    case $n in 0|1|2|3) ;; *) eval "exec $n>&-" ;; esac
  done
fi
if [ -n "$1" ]; then
  echo $$ > "$1" || { echo "crustcore-sandbox: cannot join the pids cgroup $1"; exit 125; }
fi
shift
exec "$@"`;

/** Mounts each overlay in a private mount namespace, where only the sandbox will see it. */
const overlayScript = `mount=$1; n=$2; shift 2
while [ "$n" -gt 0 ]; do
  "$mount" -n -t overlay overlay -o "$1" "$2" || { echo "crustcore-sandbox: cannot mount the overlay for $2"; exit 125; }
  shift 2; n=$((n - 1))
done
exec "$@"`;

/**
 * overlayfs options of one overlay. `userxattr`: mounted inside a user namespace, overlayfs can
 * keep its opaque-directory and redirect marks only in `user.overlay.*` xattrs; without it,
 * removing or renaming a directory of a lower layer fails with EIO.
 */
export function overlayOptions(overlay: Pick<OverlayMount, 'lowers' | 'upper' | 'work'>): string {
  return `lowerdir=${overlay.lowers.join(':')},upperdir=${overlay.upper},workdir=${overlay.work},userxattr`;
}

function procsFileOf(bound: ProcessBound): string {
  return bound.kind === 'pidsCgroup' ? bound.procsFile : '';
}

function notEnforcing(detail: string): RunSandboxedResult {
  return { ok: false, error: { code: 'backendNotEnforcing', detail } };
}

/** Paths no toolchain bind may cover: the kernel's state and config. */
function kernelDenyPaths(): readonly string[] {
  const home = homedir();
  const env = process.env;
  return [
    env['CRUSTCORE_STATE_DIR'],
    join(env['XDG_STATE_HOME'] ?? join(home, '.local', 'state'), 'crustcore'),
    join(env['XDG_CONFIG_HOME'] ?? join(home, '.config'), 'crustcore'),
  ].filter((path): path is string => path !== undefined && path.startsWith('/'));
}

/** The toolchain of `spec.argv` on the kernel's own PATH. */
export function defaultToolchain(spec: Pick<SandboxSpec, 'argv'>): Toolchain {
  return resolveToolchain(spec.argv, process.env['PATH'] ?? '', { home: homedir(), denyPaths: kernelDenyPaths() });
}

function writeEtc(dir: string, spec: SandboxSpec): void {
  const home = spec.env['HOME'] ?? sandboxHome;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const users = [`root:x:0:0:root:${home}:/bin/sh`];
  const groups = ['root:x:0:'];
  if (uid !== 0) users.push(`sandbox:x:${uid}:${gid}:sandbox:${home}:/bin/sh`);
  if (gid !== 0) groups.push(`sandbox:x:${gid}:`);
  users.push('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin');
  groups.push('nogroup:x:65534:');
  writeFileSync(join(dir, 'passwd'), `${users.join('\n')}\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'group'), `${groups.join('\n')}\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n', { mode: 0o644 });
}

/** Which system dirs the host has and which of them are merged-/usr symlinks. */
export function systemLayout(): SystemLayout {
  const topLevel = systemTopLevel.flatMap((path): readonly TopLevelDir[] => {
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) return [{ path, symlinkTarget: readlinkSync(path) }];
      return stat.isDirectory() ? [{ path, symlinkTarget: null }] : [];
    } catch {
      return [];
    }
  });
  const etc = systemEtc.filter((path) => {
    try {
      lstatSync(path);
      return true;
    } catch {
      return false;
    }
  });
  return { topLevel, etc };
}
