/**
 * Runs an external worker (a coding-agent CLI, a script) inside the sandbox, in an attempt tree.
 * The worker gets a JSON contract on stdin and nothing else: no network and no credentials
 * unless the user opted in (`--worker-network`, `--worker-env NAME`), both recorded as risks.
 */
import type { Attempt } from '../attempt/index.js';
import { canonicalJson } from '../core/index.js';
import type { RunSandboxedResult } from '../sandbox/index.js';
import { runInAttempt, type SandboxChoice } from '../verify/gate.js';

/** The bounded, redacted view of the previous attempt's verify run that the worker may read. */
export interface PreviousAttempt {
  readonly attempt: number;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly reason: string;
  readonly output: string;
}

/** What the worker reads on stdin: one line of canonical JSON. */
export interface WorkerContract {
  readonly contract: 'crustcore.worker/1';
  readonly goal: string;
  readonly attempt: number;
  readonly attemptsMax: number;
  readonly baseCommit: string;
  readonly verifyCommand: string;
  readonly previous: PreviousAttempt | null;
}

/** Bytes of the previous verify output passed on to the worker (its tail). */
export const workerFeedbackBytesMax = 8 * 1024;

/** The worker's opt-ins; both widen what untrusted code can reach and are logged as risks. */
export interface WorkerGrant {
  readonly network: boolean;
  /** Variables copied from the kernel's environment into the worker's, by name. */
  readonly env: Readonly<Record<string, string>>;
}

/** Runs `command` with `sh -c` in the attempt's tree; the contract arrives on stdin. */
export function runWorker(input: {
  readonly attempt: Attempt;
  readonly repoDir: string;
  readonly command: string;
  readonly contract: WorkerContract;
  readonly grant: WorkerGrant;
  readonly sandbox: SandboxChoice;
}): Promise<RunSandboxedResult> {
  return runInAttempt({
    attempt: input.attempt,
    repoDir: input.repoDir,
    command: input.command,
    sandbox: input.sandbox,
    network: input.grant.network,
    grantedEnv: input.grant.env,
    stdin: new TextEncoder().encode(`${canonicalJson(input.contract)}\n`),
  });
}
