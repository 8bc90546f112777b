/**
 * The macOS tier: an SBPL profile for `sandbox-exec -p <profile>` built from a spec. Seatbelt has
 * no mounts, so a bind is allowed at its source path and the command must use source paths.
 * Denied by default: every file outside the system dirs, the toolchain and the tree; all of
 * `$HOME` except what is listed; the network (unless `spec.network`); process inspection.
 * This profile is checked by a golden test only: it has not been run on macOS.
 */
import { assertNever } from '../core/assert.js';
import type { Toolchain } from './toolchain.js';
import type { SandboxSpec } from './types.js';

/** What the profile is built from: the spec, the resolved toolchain and the run's private dirs. */
export interface SeatbeltInput {
  readonly spec: Pick<SandboxSpec, 'mounts' | 'network'>;
  readonly toolchain: Pick<Toolchain, 'binds' | 'masks'>;
  /** A fresh per-run dir used as TMPDIR. */
  readonly privateTmp: string;
  /** A fresh per-run dir used as HOME. */
  readonly privateHome: string;
}

/** System locations a shell, node and git read on macOS. */
const systemReadable: readonly string[] = [
  '/usr',
  '/bin',
  '/sbin',
  '/System',
  '/Library/Apple',
  '/Library/Developer/CommandLineTools',
  '/Applications/Xcode.app/Contents/Developer',
  '/opt/homebrew',
  '/usr/local',
  '/private/etc/ssl',
  '/private/var/db/timezone',
];

const systemReadableFiles: readonly string[] = [
  '/private/etc/hosts',
  '/private/etc/localtime',
  '/dev/null',
  '/dev/zero',
  '/dev/random',
  '/dev/urandom',
];

/** The SBPL profile text for one run. */
export function seatbeltProfile(input: SeatbeltInput): string {
  const readable: string[] = [...input.toolchain.binds];
  const writable: string[] = [input.privateTmp, input.privateHome];
  for (const mount of input.spec.mounts) {
    switch (mount.kind) {
      case 'bindReadOnly':
        readable.push(mount.source);
        break;
      case 'bindWritable':
        writable.push(mount.source);
        break;
      case 'overlay':
        readable.push(...mount.lowers);
        writable.push(mount.upper);
        break;
      case 'tmpfs':
        // No tmpfs on macOS: the target stays unreachable.
        break;
      default:
        assertNever(mount);
    }
  }
  const lines = [
    '(version 1)',
    '(deny default)',
    '(allow process-exec process-fork)',
    '(allow signal (target same-sandbox))',
    '(allow process-info* (target same-sandbox))',
    '(allow sysctl-read)',
    '(allow ipc-posix-shm-read-data ipc-posix-shm-write-data)',
    `(allow file-read-metadata ${ancestors([...systemReadable, ...readable, ...writable])
      .map(literal)
      .join(' ')})`,
    `(allow file-read* ${[...systemReadable.map(subpath), ...systemReadableFiles.map(literal)].join(' ')})`,
    '(allow file-write-data (literal "/dev/null"))',
  ];
  if (readable.length > 0) lines.push(`(allow file-read* ${readable.map(subpath).join(' ')})`);
  lines.push(`(allow file-read* file-write* ${writable.map(subpath).join(' ')})`);
  if (input.toolchain.masks.length > 0) lines.push(`(deny file-read* ${input.toolchain.masks.map(literal).join(' ')})`);
  lines.push(input.spec.network ? '(allow network*)' : '(deny network*)');
  return `${lines.join('\n')}\n`;
}

/** Every proper ancestor dir of the paths, so that `stat` on the way down works; sorted, unique. */
function ancestors(paths: readonly string[]): readonly string[] {
  const result = new Set<string>();
  for (const path of paths) {
    let current = path;
    while (current !== '/' && current.includes('/')) {
      current = current.slice(0, current.lastIndexOf('/')) || '/';
      result.add(current);
    }
  }
  return [...result].sort();
}

function subpath(path: string): string {
  return `(subpath ${quote(path)})`;
}

function literal(path: string): string {
  return `(literal ${quote(path)})`;
}

function quote(path: string): string {
  if (!path.startsWith('/') || /[\0\n\r]/.test(path)) {
    throw new TypeError(
      `seatbelt profile: ${JSON.stringify(path)} is not an absolute single-line path; fix the caller.`,
    );
  }
  return `"${path.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
