import { fileURLToPath } from 'node:url';

/** The workspace root, computed from this file's location so no command depends on the caller's cwd. */
export const repoRoot: string = fileURLToPath(new URL('../../', import.meta.url));
