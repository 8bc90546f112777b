/**
 * The enforcement probe: before the kernel trusts a backend it runs a real command inside it and
 * checks, from the inside and the outside, that the isolation holds. A backend that is missing,
 * or that runs the command but does not isolate it, fails the probe, and `runSandboxed` refuses.
 * Results are cached per backend and binary for the life of the process and, when the caller
 * names a cache directory, a success is also kept on disk for later processes (`probe-cache.ts`).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBackendBinary, findTool, type SandboxBackend } from './backend.js';
import { defaultSandboxEnv } from './default-env.js';
import { Limits } from './limits.js';
import { loadProbeSuccess, probeIdentity, storeProbeSuccess } from './probe-cache.js';
import { runUnprobed } from './run-sandboxed.js';
import type { SandboxError } from './types.js';

/** What the probe found. */
export type ProbeResult =
  | { readonly ok: true; readonly backend: SandboxBackend; readonly version: string }
  | { readonly ok: false; readonly code: SandboxError['code']; readonly detail: string };

const cache = new Map<string, Promise<ProbeResult>>();

/** Processes the probe run may have; its /proc/self/limits must show exactly this. */
const probeProcessesMax = 64;

/** Where the probe may keep a success for later processes. */
export interface ProbeOptions {
  /**
   * A kernel-private directory (the state dir) for the on-disk cache. Without it the probe runs
   * once per process. A caller that must see the backend proved now (doctor) leaves it out.
   */
  readonly cacheDir?: string;
}

/**
 * Proves that the backend really isolates: once per process, per backend and binary; with
 * `options.cacheDir`, a success proved on the same binaries and host kernel within
 * `Limits.probeCacheAgeMsMax` is taken from disk instead of running the probe again.
 */
export function probeBackend(
  backend: SandboxBackend,
  backendPath?: string,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const key = `${backend}\0${backendPath ?? ''}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const probe =
    options.cacheDir === undefined
      ? runProbe(backend, backendPath)
      : probeThroughDisk(backend, backendPath, options.cacheDir);
  cache.set(key, probe);
  return probe;
}

async function probeThroughDisk(
  backend: SandboxBackend,
  backendPath: string | undefined,
  cacheDir: string,
): Promise<ProbeResult> {
  const binary = findBackendBinary(backend, backendPath);
  // Taken before the probe runs: a binary replaced while it runs is stored under its old identity.
  const identity = binary === null ? null : probeIdentity(backend, binary, findTool('prlimit'));
  if (identity !== null) {
    const version = loadProbeSuccess(cacheDir, identity, Date.now());
    if (version !== null) return { ok: true, backend, version };
  }
  const result = await runProbe(backend, backendPath);
  if (result.ok && identity !== null) storeProbeSuccess(cacheDir, identity, result.version, Date.now());
  return result;
}

/**
 * Checks, from inside: another network namespace with only a loopback interface, another PID
 * namespace, no capabilities, the process limit applied, no host variable in the environment,
 * and a host file that exists outside neither visible nor writable. From outside: that file
 * is unchanged.
 */
const probeScript = `outside=$1
echo "netns=$(readlink /proc/self/ns/net)"
echo "pidns=$(readlink /proc/self/ns/pid)"
echo "interfaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ',')"
echo "capabilities=$(grep '^CapEff:' /proc/self/status | tr -d ' \\t' | cut -d: -f2)"
echo "processesMax=$(grep '^Max processes' /proc/self/limits | tr -s ' ' | cut -d' ' -f3)"
if env | grep -q CRUSTCORE_PROBE_CANARY; then echo canary=present; else echo canary=absent; fi
if [ -e "$outside" ]; then echo outsideVisible=yes; else echo outsideVisible=no; fi
if (echo written > "$outside") 2>/dev/null; then echo outsideWritable=yes; else echo outsideWritable=no; fi
echo done=yes`;

async function runProbe(backend: SandboxBackend, backendPath: string | undefined): Promise<ProbeResult> {
  const binary = findBackendBinary(backend, backendPath);
  if (binary === null) {
    return {
      ok: false,
      code: 'backendMissing',
      detail: `sandbox backend ${backend} not found${backendPath === undefined ? '' : ` at ${backendPath}`}; install it (bubblewrap or gVisor runsc) or choose another backend.`,
    };
  }
  const version = await backendVersion(binary);
  const outsideDir = mkdtempSync(join(tmpdir(), 'crustcore-probe-'));
  const outsideFile = join(outsideDir, 'outside.txt');
  const untouched = `untouched ${randomBytes(8).toString('hex')}\n`;
  writeFileSync(outsideFile, untouched);
  try {
    const run = await runUnprobed(
      {
        backend,
        ...(backendPath === undefined ? {} : { backendPath }),
        argv: ['/bin/sh', '-c', probeScript, 'crustcore-probe', outsideFile],
        cwd: '/tmp',
        mounts: [],
        env: defaultSandboxEnv({ path: '/usr/bin:/bin' }),
        network: false,
        timeoutMs: Limits.probeTimeoutMs,
        outputBytesMax: Limits.backendInfoBytesMax,
        limits: {
          processesMax: probeProcessesMax,
          fileBytesMax: 1024 * 1024,
          addressSpaceBytesMax: 1024 ** 3,
          cpuSeconds: 10,
        },
        toolchain: { binds: [], masks: [], pathEntries: ['/usr/bin', '/bin'], env: {}, programs: [] },
      },
      { CRUSTCORE_PROBE_CANARY: randomBytes(8).toString('hex') },
    );
    if (!run.ok)
      return { ok: false, code: run.error.code, detail: `enforcement probe could not run: ${run.error.detail}` };
    const output = `${run.result.output.head}${run.result.output.tail}`;
    const seen = new Map(
      output
        .split('\n')
        .map((line) => /^([A-Za-z]+)=(.*)$/.exec(line))
        .flatMap((match) => (match === null ? [] : [[match[1] ?? '', match[2] ?? ''] as const])),
    );
    const failures: string[] = [];
    const expect = (name: string, ok: boolean, what: string): void => {
      if (!ok) failures.push(`${what} (${name}=${seen.get(name) ?? 'missing'})`);
    };
    expect('done', run.result.exitCode === 0 && seen.get('done') === 'yes', 'the probe did not complete');
    expect(
      'netns',
      (seen.get('netns') ?? '') !== '' && seen.get('netns') !== readlinkSync('/proc/self/ns/net'),
      'shares the host network namespace',
    );
    expect(
      'pidns',
      (seen.get('pidns') ?? '') !== '' && seen.get('pidns') !== readlinkSync('/proc/self/ns/pid'),
      'shares the host PID namespace',
    );
    expect('interfaces', seen.get('interfaces') === 'lo,', 'has a network interface besides its own loopback');
    expect('capabilities', seen.get('capabilities') === '0000000000000000', 'keeps capabilities');
    expect('processesMax', seen.get('processesMax') === String(probeProcessesMax), 'does not apply the process limit');
    expect('canary', seen.get('canary') === 'absent', 'leaks the host environment');
    expect('outsideVisible', seen.get('outsideVisible') === 'no', 'shows a host file outside its mounts');
    expect('outsideWritable', seen.get('outsideWritable') === 'no', 'can write a host file outside its mounts');
    if (readFileSync(outsideFile, 'utf8') !== untouched) failures.push('changed a host file outside its mounts');
    if (failures.length > 0) {
      return {
        ok: false,
        code: 'backendNotEnforcing',
        detail: `sandbox backend ${backend} (${binary}) does not isolate: ${failures.join('; ')}; fix or replace the backend.`,
      };
    }
    return { ok: true, backend, version };
  } finally {
    rmSync(outsideDir, { recursive: true, force: true });
  }
}

function backendVersion(binary: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      binary,
      ['--version'],
      { timeout: Limits.probeTimeoutMs, maxBuffer: Limits.backendInfoBytesMax, env: { PATH: '/usr/bin:/bin' } },
      (_error, stdout) => resolve((String(stdout).split('\n')[0] ?? '').trim().slice(0, 200)),
    );
  });
}
