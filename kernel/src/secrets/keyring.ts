import { execFile } from 'node:child_process';
import { SecretLimits } from './limits.js';

/** The service name crustcore's keyring entries are stored under. */
export const keyringService = 'crustcore';

/** How to reach the OS keyring. */
export type KeyringOptions = {
  /** Defaults to `process.platform`. */
  readonly platform?: NodeJS.Platform;
  /**
   * The environment the tool runs with. Only the variables it needs (PATH, HOME, the D-Bus session)
   * are passed on; PATH also decides which `secret-tool`/`security` runs.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
};

/** The answer of one keyring lookup. */
export type KeyringLookup =
  | { readonly found: true; readonly value: string }
  | { readonly found: false; readonly status: 'notFound' | 'unavailable'; readonly reason: string };

const passedVariables = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'DBUS_SESSION_BUS_ADDRESS',
  'XDG_RUNTIME_DIR',
] as const;

type Tool = { readonly command: string; readonly args: readonly string[]; readonly notFoundExitCode: number };

function toolFor(platform: NodeJS.Platform, name: string): Tool | undefined {
  if (platform === 'linux') {
    return {
      command: 'secret-tool',
      args: ['lookup', 'service', keyringService, 'account', name],
      notFoundExitCode: 1,
    };
  }
  if (platform === 'darwin') {
    return {
      command: 'security',
      args: ['find-generic-password', '-s', keyringService, '-a', name, '-w'],
      notFoundExitCode: 44,
    };
  }
  return undefined;
}

/**
 * Looks `name` up in the OS keyring (`secret-tool` on Linux, `security` on macOS) with execFile: no
 * shell, a timeout, bounded output, a minimal environment. A missing tool, a timeout or an error is
 * `unavailable`, never a thrown error; the reason never includes the tool's output.
 */
export function keyringLookup(name: string, options: KeyringOptions = {}): Promise<KeyringLookup> {
  const platform = options.platform ?? process.platform;
  const tool = toolFor(platform, name);
  if (tool === undefined)
    return Promise.resolve({ found: false, status: 'unavailable', reason: `no keyring tool on ${platform}` });
  const source = options.env ?? process.env;
  const env: Record<string, string> = {};
  for (const variable of passedVariables) {
    const value = source[variable];
    if (value !== undefined) env[variable] = value;
  }
  const timeoutMs = options.timeoutMs ?? SecretLimits.keyringTimeoutMs;
  return new Promise((resolve) => {
    execFile(
      tool.command,
      tool.args,
      {
        env,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: SecretLimits.keyringOutputBytesMax,
        shell: false,
        windowsHide: true,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error === null) {
          const value = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
          resolve(value === '' ? { found: false, status: 'notFound', reason: 'empty entry' } : { found: true, value });
          return;
        }
        if (error.code === 'ENOENT') {
          resolve({ found: false, status: 'unavailable', reason: `${tool.command} is not installed` });
        } else if (error.killed === true || (error.signal !== null && error.signal !== undefined)) {
          resolve({
            found: false,
            status: 'unavailable',
            reason: `${tool.command} did not answer within ${timeoutMs} ms`,
          });
        } else if (error.code === tool.notFoundExitCode && stderr.trim() === '') {
          // secret-tool also exits 1 when it cannot reach the keyring, but then it says why on stderr.
          resolve({ found: false, status: 'notFound', reason: 'no entry' });
        } else {
          resolve({ found: false, status: 'unavailable', reason: `${tool.command} failed (${String(error.code)})` });
        }
      },
    );
  });
}
