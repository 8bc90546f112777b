import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { runGit } from '../../attempt/index.js';
import { StateDir } from '../../host/state-dir.js';
import {
  Limits as SandboxLimits,
  defaultSandboxEnv,
  defaultSandboxLimits,
  probeBackend,
  resolveToolchain,
  runSandboxed,
  systemPathEntries,
  type SandboxBackend,
} from '../../sandbox/index.js';
import type { CommandAction } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

/** One line of the doctor's report. `optional` checks never make the machine "not ready". */
export interface DoctorCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly optional: boolean;
  readonly detail: string;
}

const nodeMinimum = [20, 19] as const;

function checkNode(): DoctorCheck {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > nodeMinimum[0] || (major === nodeMinimum[0] && minor >= nodeMinimum[1]);
  return {
    name: 'node',
    ok,
    optional: false,
    detail: ok
      ? `${process.versions.node} (>= ${nodeMinimum.join('.')})`
      : `${process.versions.node} is older than ${nodeMinimum.join('.')}; install a newer Node.js`,
  };
}

async function checkGit(): Promise<DoctorCheck> {
  const result = await runGit({ args: ['--version'] });
  return result.ok
    ? { name: 'git', ok: true, optional: false, detail: result.stdout.toString('utf8').trim() }
    : { name: 'git', ok: false, optional: false, detail: `${result.error.detail}; install git` };
}

async function checkBackend(
  backend: SandboxBackend,
  optional: boolean,
  backendPath: string | undefined,
): Promise<DoctorCheck> {
  const probe = await probeBackend(backend, backendPath);
  const name = backend === 'bwrap' ? 'sandbox bwrap' : 'sandbox gvisor';
  if (probe.ok)
    return {
      name,
      ok: true,
      optional,
      detail: `${probe.version}: enforcement proven (no network, no writes outside the tree, no host env)`,
    };
  return { name, ok: false, optional, detail: `${probe.code}: ${probe.detail}${optional ? ' (optional)' : ''}` };
}

function checkStateDir(env: Io['env']): DoctorCheck {
  try {
    const dir = StateDir.open(env);
    return {
      name: 'state dir',
      ok: true,
      optional: false,
      detail: `${dir.path} (mode 0700, outside every repo and sandbox)`,
    };
  } catch (error) {
    return { name: 'state dir', ok: false, optional: false, detail: (error as Error).message };
  }
}

async function checkToolchain(
  verify: string,
  env: Io['env'],
  backend: SandboxBackend,
  backendPath: string | undefined,
): Promise<DoctorCheck> {
  const argv = ['/bin/sh', '-c', verify];
  const toolchain = resolveToolchain(argv, env['PATH'] ?? '', { home: env['HOME'] ?? homedir() });
  const missing = toolchain.programs.filter((program) => program.hostPath === null).map((program) => program.name);
  if (missing.length > 0) {
    return { name: 'verify toolchain', ok: false, optional: false, detail: `not found on PATH: ${missing.join(', ')}` };
  }
  const names = toolchain.programs.map((program) => program.name);
  const probe = names.map((name) => `command -v ${name} >/dev/null || { echo "missing: ${name}"; exit 1; }`).join('; ');
  const path = [
    ...toolchain.pathEntries,
    ...systemPathEntries.filter((entry) => !toolchain.pathEntries.includes(entry)),
  ];
  const result = await runSandboxed({
    backend,
    ...(backendPath === undefined ? {} : { backendPath }),
    argv: ['/bin/sh', '-c', probe === '' ? 'true' : probe],
    cwd: '/',
    mounts: [],
    env: defaultSandboxEnv({ path: path.join(':'), extra: toolchain.env }),
    network: false,
    timeoutMs: 30_000,
    outputBytesMax: SandboxLimits.outputBytesMax,
    limits: defaultSandboxLimits,
    toolchain,
  });
  if (!result.ok)
    return {
      name: 'verify toolchain',
      ok: false,
      optional: false,
      detail: `${result.error.code}: ${result.error.detail}`,
    };
  const run = result.result;
  const found = toolchain.programs.map((program) => `${program.name} (${program.hostPath ?? '?'})`).join(', ');
  return run.exitCode === 0
    ? {
        name: 'verify toolchain',
        ok: true,
        optional: false,
        detail: `resolves inside the sandbox: ${found || 'shell built-ins only'}`,
      }
    : {
        name: 'verify toolchain',
        ok: false,
        optional: false,
        detail: `does not resolve inside the sandbox: ${(run.output.head + run.output.tail).trim()}`,
      };
}

/** Runs every check; the machine is ready when no required check failed. */
export async function runDoctor(options: {
  readonly env: Io['env'];
  readonly verify: string | undefined;
  readonly backendPath: string | undefined;
}): Promise<{ readonly ready: boolean; readonly checks: readonly DoctorCheck[] }> {
  const checks: DoctorCheck[] = [
    checkNode(),
    await checkGit(),
    await checkBackend('bwrap', false, options.backendPath),
  ];
  checks.push(await checkBackend('gvisor', true, undefined));
  checks.push(checkStateDir(options.env));
  const bwrapReady = checks.find((check) => check.name === 'sandbox bwrap')?.ok === true;
  if (options.verify !== undefined) {
    checks.push(
      bwrapReady
        ? await checkToolchain(options.verify, options.env, 'bwrap', options.backendPath)
        : { name: 'verify toolchain', ok: false, optional: false, detail: 'not checked: no working sandbox' },
    );
  }
  return { ready: checks.every((check) => check.ok || check.optional), checks };
}

/** Runs `crustcore doctor`; loaded only when the command runs. */
export const doctorAction: CommandAction = async (args, io) => {
  const verify = typeof args.values['verify'] === 'string' ? args.values['verify'] : undefined;
  const binary = args.values['sandbox-binary'];
  const backendPath = typeof binary === 'string' ? resolve(process.cwd(), binary) : undefined;
  const report = await runDoctor({ env: io.env, verify, backendPath });
  if (args.json) {
    io.stdout(`${JSON.stringify(report)}\n`);
  } else {
    for (const check of report.checks) {
      const mark = check.ok ? 'ok  ' : check.optional ? 'skip' : 'FAIL';
      io.stdout(`${mark}  ${check.name.padEnd(16)} ${check.detail}\n`);
    }
    io.stdout(
      report.ready ? 'ready: crustcore can verify changes on this machine\n' : 'NOT READY: fix the FAIL lines above\n',
    );
  }
  return report.ready ? ExitCode.ok : ExitCode.failed;
};
