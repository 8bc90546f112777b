/**
 * Builds bubblewrap's argument list from a checked spec. Pure: every host fact (which system
 * dirs are symlinks, which /etc pieces exist) arrives in `SystemLayout`.
 */
import { assertNever } from '../core/assert.js';
import { sandboxHome } from './default-env.js';
import { Limits } from './limits.js';
import type { Toolchain } from './toolchain.js';
import type { SandboxSpec } from './types.js';

/** How the host's top-level system dirs look: merged-/usr symlinks or real dirs. */
export interface SystemLayout {
  /** `/bin` → `usr/bin` on merged-/usr systems; absent when the host has no such dir. */
  readonly topLevel: readonly TopLevelDir[];
  /** The /etc pieces a shell, node, git and TLS need, as found on the host. */
  readonly etc: readonly string[];
}

/** One top-level system dir: `symlinkTarget` is null when it is a real dir. */
export interface TopLevelDir {
  readonly path: string;
  readonly symlinkTarget: string | null;
}

/** Host facts and per-run files the arguments refer to. */
export interface BwrapPlan {
  readonly spec: SandboxSpec;
  readonly toolchain: Toolchain;
  readonly layout: SystemLayout;
  /** Per-run dir holding synthetic `passwd`, `group`, `hosts`. */
  readonly etcDir: string;
  /** For each overlay mount (in spec order), the host dir where it is mounted before bwrap starts. */
  readonly overlayMountPoints: readonly string[];
  /** Inside path of util-linux `prlimit`, which applies the rlimits and then execs argv. */
  readonly prlimitPath: string;
  /** The fd on which bwrap reports the sandbox's init pid. */
  readonly infoFd: number;
  /**
   * For each mount (in spec order), inside paths of host Unix sockets beneath it, each covered
   * with `/dev/null` right after that mount (see `planSocketMasks`).
   */
  readonly socketMasks: readonly (readonly string[])[];
}

/** Top-level dirs bound read-only (or recreated as the same symlink). */
export const systemTopLevel: readonly string[] = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** /etc pieces needed for the dynamic linker, `/usr/bin/*` alternatives, TLS roots and time zones. */
export const systemEtc: readonly string[] = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/pki',
  '/etc/crypto-policies',
  '/etc/localtime',
];

/** The full bwrap argv (without the binary itself). */
export function bwrapArguments(plan: BwrapPlan): readonly string[] {
  const { spec, toolchain, layout } = plan;
  const tmpfsBytes = String(spec.limits.tmpfsBytesMax ?? Limits.tmpfsBytesMax);
  const home = spec.env['HOME'] !== undefined && spec.env['HOME'].startsWith('/') ? spec.env['HOME'] : sandboxHome;
  const args: string[] = [
    '--die-with-parent',
    '--new-session',
    '--unshare-all',
    ...(spec.network ? ['--share-net'] : []),
    '--hostname',
    'sandbox',
    '--cap-drop',
    'ALL',
    '--clearenv',
  ];
  for (const [name, value] of Object.entries(spec.env)) args.push('--setenv', name, value);
  args.push('--info-fd', String(plan.infoFd), '--ro-bind', '/usr', '/usr');
  for (const entry of layout.topLevel) {
    if (entry.symlinkTarget === null) args.push('--ro-bind', entry.path, entry.path);
    else args.push('--symlink', entry.symlinkTarget, entry.path);
  }
  for (const path of layout.etc) args.push('--ro-bind', path, path);
  for (const name of ['passwd', 'group', 'hosts']) args.push('--ro-bind', `${plan.etcDir}/${name}`, `/etc/${name}`);
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push('--size', tmpfsBytes, '--tmpfs', '/tmp', '--size', tmpfsBytes, '--tmpfs', home);
  for (const bind of toolchain.binds) args.push('--ro-bind', bind, bind);
  for (const mask of toolchain.masks) args.push('--ro-bind', '/dev/null', mask);
  if (plan.socketMasks.length !== spec.mounts.length) {
    throw new TypeError('bwrap plan: socketMasks must hold one list per mount.');
  }
  let overlayIndex = 0;
  for (const [index, mount] of spec.mounts.entries()) {
    switch (mount.kind) {
      case 'bindReadOnly':
        args.push('--ro-bind', mount.source, mount.target);
        break;
      case 'bindWritable':
        args.push('--bind', mount.source, mount.target);
        break;
      case 'overlay': {
        const mountPoint = plan.overlayMountPoints[overlayIndex];
        overlayIndex += 1;
        if (mountPoint === undefined) throw new TypeError('bwrap plan: an overlay mount has no mount point.');
        args.push('--bind', mountPoint, mount.target);
        break;
      }
      case 'tmpfs':
        args.push('--size', tmpfsBytes, '--tmpfs', mount.target);
        break;
      default:
        assertNever(mount);
    }
    // connect(2) ignores read-only mounts; a char device in the socket's place refuses connections.
    for (const socket of plan.socketMasks[index] ?? []) args.push('--ro-bind', '/dev/null', socket);
  }
  // The root itself is bwrap's tmpfs, unbounded in size: make it read-only once everything is mounted.
  args.push('--remount-ro', '/', '--chdir', spec.cwd, '--', ...rlimitPrelude(plan.prlimitPath, spec), ...spec.argv);
  return args;
}

/** `prlimit` sets soft = hard for each limit, then execs the command (looked up on the inside PATH). */
export function rlimitPrelude(prlimitPath: string, spec: SandboxSpec): readonly string[] {
  const { limits } = spec;
  return [
    prlimitPath,
    `--nproc=${limits.processesMax}:${limits.processesMax}`,
    `--fsize=${limits.fileBytesMax}:${limits.fileBytesMax}`,
    `--as=${limits.addressSpaceBytesMax}:${limits.addressSpaceBytesMax}`,
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds}`,
    '--core=0:0',
    '--',
  ];
}
