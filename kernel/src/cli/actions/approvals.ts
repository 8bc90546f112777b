import { resolve } from 'node:path';
import { resolveRepo } from '../../attempt/index.js';
import { listApprovals, type ApprovalView } from '../../host/approval-flow.js';
import { StateDir } from '../../host/state-dir.js';
import type { CommandAction } from '../command.js';
import { ExitCode } from '../exit-codes.js';

/** The readable summary of one approval: what it authorises and the evidence behind it. */
export function renderApproval(view: ApprovalView): string {
  const lines = [
    `approval ${view.approvalId}  ${view.purpose}  task ${view.taskId}  (${view.status})`,
    `  ${view.title}`,
  ];
  if (view.repo !== null) lines.push(`  repo: ${view.repo}`);
  if (view.branch !== null) lines.push(`  branch: ${view.branch} (must still be at the base)`);
  if (view.newBranch !== null) lines.push(`  new branch: ${view.newBranch} (created on approval; must not exist yet)`);
  if (view.baseCommit !== null) lines.push(`  base: ${view.baseCommit}`);
  if (view.patchDigest !== null) lines.push(`  patch: sha256:${view.patchDigest}`);
  if (view.patchPath !== null) lines.push(`  read it: ${view.patchPath}`);
  lines.push(`  files (${view.files.length}): ${view.files.join(', ')}`);
  for (const entry of view.protectedPaths) lines.push(`  protected: ${entry.path} [${entry.reason}]`);
  if (view.verify !== null) {
    const took = view.verify.durationMs === null ? '' : ` in ${view.verify.durationMs} ms`;
    lines.push(
      `  verify: '${view.verify.command}' exit ${view.verify.exitCode}${took}, output sha256:${view.verify.outputDigest}`,
    );
  }
  if (view.logPath !== null) lines.push(`  log: ${view.logPath}`);
  lines.push(`  expires: ${new Date(view.expiresAtMs).toISOString()}`);
  return `${lines.join('\n')}\n`;
}

/** Runs `crustcore approvals`; loaded only when the command runs. */
export const approvalsAction: CommandAction = async (args, io) => {
  const dir = args.values['dir'];
  const stateDir = StateDir.find(io.env);
  let repoState: string | undefined;
  if (typeof dir === 'string') {
    const repo = await resolveRepo(resolve(process.cwd(), dir));
    if (!repo.ok) {
      io.stderr(`crustcore: ${dir} is not a git repository (${repo.error.detail}); pass --dir <repo>\n`);
      return ExitCode.usage;
    }
    if (stateDir !== null) repoState = stateDir.repoDir(repo.repo.topLevel);
  }
  const views =
    stateDir === null || (typeof dir === 'string' && repoState === undefined)
      ? []
      : listApprovals(stateDir, { nowMs: Date.now(), ...(repoState === undefined ? {} : { repoState }) });
  if (args.json) {
    io.stdout(`${JSON.stringify({ approvals: views })}\n`);
    return ExitCode.ok;
  }
  if (views.length === 0) {
    io.stdout('no pending approvals\n');
    return ExitCode.ok;
  }
  io.stdout(views.map(renderApproval).join('\n'));
  io.stdout("\ndecide with 'crustcore approve <id>' or 'crustcore deny <id>'\n");
  return ExitCode.ok;
};
