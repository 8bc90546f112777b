import { resolve } from 'node:path';
import { ConfigError } from '../../host/config.js';
import { integrateTask, type IntegrateReport } from '../../host/integrate.js';
import { ResumeError } from '../../host/resume-task.js';
import { ApprovalStoreError } from '../../policy/index.js';
import type { CommandAction } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { ttyConfirm } from './approve.js';

function failure(io: Io, json: boolean, code: string, message: string, exit: number): number {
  if (json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
  io.stderr(`crustcore: ${message}\n`);
  return exit;
}

/** The human-readable result of `integrate`. */
export function renderIntegrate(report: IntegrateReport): string {
  const lines: string[] = [];
  const task = `task ${report.taskId}`;
  if (report.verdict === 'integrated') {
    lines.push(
      `INTEGRATED ${task}: branch '${report.branch}' fast-forwarded to ${report.commit ?? ''} (review mode ${report.reviewMode})`,
    );
  } else if (report.verdict === 'needs-approval') {
    lines.push(
      `NEEDS APPROVAL ${task}: integrating into '${report.branch}' waits for you (review mode ${report.reviewMode})`,
      `approval: ${report.approvalId ?? ''}`,
      `review it with 'crustcore approvals', then 'crustcore approve ${report.approvalId ?? '<id>'}'`,
    );
  } else {
    lines.push(`NOT INTEGRATED ${task}: ${report.reason ?? 'unknown reason'}`);
  }
  lines.push(...report.policy);
  lines.push(`log: ${report.log.path} (head record ${report.log.headSeq})`);
  return `${lines.join('\n')}\n`;
}

/** Runs `crustcore integrate`; loaded only when the command runs. */
export const integrateAction: CommandAction = async (args, io) => {
  const branch = args.values['into'];
  if (typeof branch !== 'string' || branch === '') {
    io.stderr("crustcore: 'integrate' needs --into <branch>. Run 'crustcore help integrate'.\n");
    return ExitCode.usage;
  }
  const dir = args.values['dir'];
  let outcome: Awaited<ReturnType<typeof integrateTask>>;
  try {
    outcome = await integrateTask({
      env: io.env,
      repoDir: resolve(process.cwd(), typeof dir === 'string' ? dir : '.'),
      taskId: args.positionals[0] ?? '',
      branch,
      yes: args.values['yes'] === true,
      confirm: ttyConfirm,
      progress: (line) => io.stderr(`crustcore: ${line}\n`),
    });
  } catch (error) {
    if (error instanceof ConfigError) return failure(io, args.json, 'config', error.message, ExitCode.usage);
    if (error instanceof ResumeError || error instanceof ApprovalStoreError) {
      return failure(io, args.json, error.code, `refused: ${error.message}`, ExitCode.failed);
    }
    throw error;
  }
  switch (outcome.kind) {
    case 'usage':
      return failure(io, args.json, 'usage', outcome.message, ExitCode.usage);
    case 'refused':
      return failure(io, args.json, 'refused', `refused: ${outcome.message}`, ExitCode.failed);
    case 'report':
      io.stdout(args.json ? `${JSON.stringify(outcome.report)}\n` : renderIntegrate(outcome.report));
      return outcome.report.exitCode;
    default: {
      const never: never = outcome;
      throw new Error(`unreachable integrate outcome ${String(never)}`);
    }
  }
};
