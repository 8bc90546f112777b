/**
 * Readers of a patch's two sides for the secret scan of the verify gate: the base side from blobs
 * the host already read, the patched side from the attempt tree (a symlink reads as its target,
 * which is never followed).
 */
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { SideReader } from '../verify/gate.js';

/** The base and patched readers `secretsInPatch` takes. */
export function patchSideReaders(
  base: ReadonlyMap<string, Buffer>,
  patchedTreeDir: string,
): { readonly readBase: SideReader; readonly readPatched: SideReader } {
  return {
    readBase: (path) => base.get(path)?.toString('utf8'),
    readPatched: (path) => {
      const full = join(patchedTreeDir, path);
      try {
        const stat = lstatSync(full);
        if (stat.isSymbolicLink()) return readlinkSync(full, 'utf8');
        return stat.isFile() ? readFileSync(full, 'utf8') : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
