/**
 * The fixed environment a sandboxed verify sees. It is the same for every run and says nothing
 * about who runs it: no CRUSTCORE_* variable, no host variable, no secret.
 */

/** The home directory inside the sandbox: a private tmpfs. */
export const sandboxHome = '/home/sandbox';

/** The PATH entries every sandbox has; toolchain entries come before them. */
export const systemPathEntries: readonly string[] = ['/usr/local/bin', '/usr/bin', '/bin'];

/**
 * The allow-list: PATH, HOME, LANG=C.UTF-8, TERM=dumb, TMPDIR=/tmp, CI=true (test runners then
 * run once, never watch, and refuse to write new snapshots) and NO_COLOR=1. `extra` is for
 * toolchain variables (`Toolchain.env`, e.g. RUSTUP_HOME); it may not override the allow-list.
 */
export function defaultSandboxEnv(options: {
  readonly home?: string;
  readonly path: string;
  readonly extra?: Readonly<Record<string, string>>;
}): Readonly<Record<string, string>> {
  const base: Record<string, string> = {
    PATH: options.path,
    HOME: options.home ?? sandboxHome,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    TMPDIR: '/tmp',
    CI: 'true',
    NO_COLOR: '1',
  };
  for (const [name, value] of Object.entries(options.extra ?? {})) {
    if (Object.hasOwn(base, name)) {
      throw new TypeError(`sandbox env: extra variable ${name} would override the fixed allow-list; drop it.`);
    }
    if (name.startsWith('CRUSTCORE_')) {
      throw new TypeError(`sandbox env: ${name} would identify the verifier; drop it.`);
    }
    base[name] = value;
  }
  return Object.freeze(base);
}
