/**
 * Host Unix sockets under the directories a run binds. connect(2) on a socket file ignores
 * read-only mounts and network namespaces, so a socket a host process listens on inside a bound
 * directory (a tool's cache under `node_modules`, an agent socket in a checkout) would be a way
 * out of the sandbox. Before each run the sandbox walks every bound directory, never following
 * symlinks, and masks each socket file it finds with `/dev/null`; connecting to the mask fails.
 * The walk is bounded by `Limits.mountScanEntriesMax` entries per run, and a run whose trees are
 * larger, or that cannot be walked completely, is refused rather than run half-checked.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { assertNever } from '../core/assert.js';
import type { SandboxMount } from './types.js';

/**
 * What one walk found: socket paths relative to the walked directory and the entries visited;
 * or why it stopped (more entries than allowed, or a part it could not see exactly).
 */
export type SocketScan =
  | { readonly ok: true; readonly sockets: readonly string[]; readonly entries: number }
  | { readonly ok: false; readonly reason: 'tooManyEntries' }
  | { readonly ok: false; readonly reason: 'unreadable'; readonly detail: string };

/** For each mount of a spec (same order), the inside paths to mask right after it is mounted. */
export type SocketMaskPlan =
  | { readonly ok: true; readonly masks: readonly (readonly string[])[]; readonly entries: number }
  | { readonly ok: false; readonly detail: string };

/**
 * Walks `root` (a real directory path) depth-first without following symlinks and lists every
 * socket file beneath it, relative to `root`. Stops and fails once more than `entriesMax`
 * entries were seen, and fails on any directory it cannot read: a part it did not see could
 * hold a socket. Names are handled as bytes, so a name that is not UTF-8 is walked like any
 * other; only a socket whose path cannot be spelled as a string (for bwrap's argv) fails.
 */
export function findSockets(root: string, entriesMax: number): SocketScan {
  const sockets: string[] = [];
  const pending: Buffer[] = [Buffer.from(root)];
  let entries = 0;
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let children: Dirent<Buffer>[];
    try {
      children = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      return { ok: false, reason: 'unreadable', detail: `cannot list ${dir.toString()} (${errorCode(error)})` };
    }
    entries += children.length;
    if (entries > entriesMax) return { ok: false, reason: 'tooManyEntries' };
    for (const child of children) {
      if (child.isDirectory()) pending.push(Buffer.concat([dir, separator, child.name]));
      else if (child.isSocket()) {
        const path = Buffer.concat([dir, separator, child.name]);
        const spelled = path.toString('utf8');
        if (!Buffer.from(spelled, 'utf8').equals(path)) {
          return { ok: false, reason: 'unreadable', detail: `the socket ${spelled} has a name that is not UTF-8` };
        }
        sockets.push(spelled.slice(root.length + 1));
      }
    }
  }
  return { ok: true, sockets: sockets.sort(), entries };
}

const separator = Buffer.from('/');

/**
 * Plans the socket masks of every mount: each bind of a directory is walked and each socket
 * in it becomes an inside path to cover with `/dev/null`. An overlay's layers are walked too,
 * but a socket there refuses the run (which layer's file shows through is overlayfs' choice).
 * A bind of a socket file itself is refused. `entriesMax` bounds all the walks of one run.
 * Lower layers the caller marks `lowersWrittenByKernel` (the kernel's own pristine trees) are not walked.
 */
export function planSocketMasks(mounts: readonly SandboxMount[], entriesMax: number): SocketMaskPlan {
  const masks: (readonly string[])[] = [];
  let entries = 0;
  /** The sockets under `source`, relative to it (none when it is not a directory), or why the run is refused. */
  const socketsUnder = (source: string): readonly string[] | { readonly refused: string } => {
    const kind = sourceKind(source);
    if (kind === 'socket') return { refused: `${source} is itself a Unix socket of the host; do not bind it.` };
    if (kind !== 'directory') return [];
    let real: string;
    try {
      // bwrap binds what the source path resolves to, so that is the tree to walk.
      real = realpathSync(source);
    } catch (error) {
      return { refused: `cannot resolve ${source} (${errorCode(error)}); check that it exists.` };
    }
    if (real === '/') return { refused: `${source} resolves to /, which would expose the whole host.` };
    const scan = findSockets(real, entriesMax - entries);
    if (scan.ok) {
      entries += scan.entries;
      return scan.sockets;
    }
    switch (scan.reason) {
      case 'tooManyEntries':
        return {
          refused: `the bound directories hold more than ${entriesMax} entries (reached in ${source}), too many to check for host sockets; bind fewer or smaller directories.`,
        };
      case 'unreadable':
        return {
          refused: `${scan.detail}, so ${source} cannot be fully checked for host sockets; make it readable or do not bind it.`,
        };
      default:
        return assertNever(scan);
    }
  };
  for (const mount of mounts) {
    switch (mount.kind) {
      case 'bindReadOnly':
      case 'bindWritable': {
        const sockets = socketsUnder(mount.source);
        if ('refused' in sockets) return refused(sockets.refused);
        masks.push(sockets.map((socket) => `${mount.target}/${socket}`));
        break;
      }
      case 'overlay': {
        const layers = mount.lowersWrittenByKernel === true ? [mount.upper] : [...mount.lowers, mount.upper];
        for (const layer of layers) {
          const sockets = socketsUnder(layer);
          if ('refused' in sockets) return refused(sockets.refused);
          const first = sockets[0];
          if (first !== undefined) {
            return refused(`the overlay layer ${layer} holds the host socket ${first}; remove it.`);
          }
        }
        masks.push([]);
        break;
      }
      case 'tmpfs':
        masks.push([]);
        break;
      default:
        assertNever(mount);
    }
  }
  return { ok: true, masks, entries };
}

function refused(detail: string): SocketMaskPlan {
  return { ok: false, detail: `sandbox mounts refused: ${detail}` };
}

/** The type of what `path` resolves to, following symlinks as a bind mount does. */
function sourceKind(path: string): 'directory' | 'socket' | 'other' {
  // A source that cannot be examined is left to bwrap, which fails the run when it cannot bind it.
  let stat;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch {
    return 'other';
  }
  if (stat === undefined) return 'other';
  if (stat.isDirectory()) return 'directory';
  return stat.isSocket() ? 'socket' : 'other';
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
