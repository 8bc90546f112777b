/** Finding the backend binaries and the host tools the sandbox relies on. */
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** The sandbox backends: bubblewrap (Linux namespaces) and gVisor's `runsc`. */
export type SandboxBackend = 'bwrap' | 'gvisor';

const binaryNames: Readonly<Record<SandboxBackend, string>> = { bwrap: 'bwrap', gvisor: 'runsc' };

/** Where system tools are looked for before the kernel's PATH. */
const systemDirs: readonly string[] = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

/** The absolute path of the backend binary, or null when there is none. */
export function findBackendBinary(backend: SandboxBackend, backendPath: string | undefined): string | null {
  if (backendPath !== undefined) return isAbsolute(backendPath) && isExecutable(backendPath) ? backendPath : null;
  return findTool(binaryNames[backend]);
}

/** A host tool by name in the system dirs, then on the kernel's PATH; null when absent. */
export function findTool(name: string): string | null {
  const pathDirs = (process.env['PATH'] ?? '').split(':').filter((dir) => isAbsolute(dir));
  for (const dir of [...systemDirs, ...pathDirs]) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** The outer shell: bash when present (it can close inherited descriptors above 9), else sh. */
export function outerShell(): string {
  return isExecutable('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
