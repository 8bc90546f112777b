/**
 * What a command may touch of the outside world, passed in so tests run commands in-process with
 * their own writers and environment.
 */
export type Io = {
  /** Writes to standard output. */
  readonly stdout: (text: string) => void;
  /** Writes to standard error. */
  readonly stderr: (text: string) => void;
  /** The environment (`CRUSTCORE_STATE_DIR`, `XDG_STATE_HOME`, `HOME`, `NO_COLOR`, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
};

/** An `Io` that collects output in memory (tests and embedding). */
export function memoryIo(env: Readonly<Record<string, string | undefined>>): Io & {
  readonly out: () => string;
  readonly err: () => string;
} {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
