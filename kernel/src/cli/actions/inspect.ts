import { inspectLog, type InspectReport } from '../../log/inspect.js';
import type { LogStatus } from '../../log/scan.js';
import { findAnchorKey, stateDirFlag } from '../anchor-key.js';
import type { CommandAction } from '../command.js';
import { ExitCode } from '../exit-codes.js';

const statusWord: Readonly<Record<LogStatus, string>> = {
  intact: 'INTACT',
  tampered: 'TAMPERED',
  torn: 'TORN',
  empty: 'EMPTY',
  unanchored: 'UNANCHORED',
  notALog: 'NOT A LOG',
  unreadable: 'UNREADABLE',
};

/** The exit code for an inspect report: 0 only for an intact log that replays. */
export function inspectExitCode(report: InspectReport): number {
  if (report.status === 'unreadable') return ExitCode.usage;
  return report.status === 'intact' && report.replayFailure === null ? ExitCode.ok : ExitCode.failed;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The human-readable report; `keyWhere` names the state dir searched for the anchor key. */
export function renderInspect(report: InspectReport, keyWhere: string): string {
  const lines = [`${statusWord[report.status]} ${report.path}`];
  if (report.logId !== null && report.createdAtMs !== null) {
    lines.push(`log ${report.logId}, created ${new Date(report.createdAtMs).toISOString()}`);
  }
  if (report.status === 'intact') {
    lines.push(
      `${plural(report.records, 'record')}: genesis, ${plural(report.events, 'event')}, ${plural(report.checkpoints, 'checkpoint')} (${report.bytes} bytes)`,
    );
  } else {
    if (report.firstBadRecord !== null) {
      const at = report.byteOffset === null ? '' : ` at byte ${report.byteOffset}`;
      lines.push(`first bad record: ${report.firstBadRecord}${at}`);
    }
    lines.push(`reason: ${report.reason ?? 'unknown'}`);
    if (report.records > 0) lines.push(`records 0..${report.records - 1} verified before it`);
  }
  switch (report.anchor) {
    case 'verified':
      lines.push(`head anchor: MAC verified, names record ${report.anchorSeq ?? '?'}`);
      break;
    case 'keyUnavailable':
      lines.push(
        `head anchor: names record ${report.anchorSeq ?? '?'}, MAC not checked (no 'log-anchor' key in ${keyWhere}); a rewritten log would go unnoticed`,
      );
      break;
    case 'missing':
    case 'invalid':
    case 'notChecked':
      break;
    default: {
      const never: never = report.anchor;
      throw new Error(`unreachable anchor status ${String(never)}`);
    }
  }
  if (report.replayFailure !== null) {
    lines.push(`replay failed at record ${report.replayFailure.record}: ${report.replayFailure.reason}`);
  }
  if (report.status === 'intact' || report.tasks.length > 0) {
    const scope = report.status === 'intact' ? '' : ', from the verified records';
    lines.push(`tasks (${report.tasks.length}${scope}):`);
    const idWidth = Math.max(0, ...report.tasks.map((task) => task.taskId.length));
    const statusWidth = Math.max(0, ...report.tasks.map((task) => task.status.length));
    for (const task of report.tasks) {
      const reason = task.reason === null ? '' : `  ${task.reason}`;
      lines.push(
        `  ${task.taskId.padEnd(idWidth)}  ${task.status.padEnd(statusWidth)}  ${plural(task.attempts, 'attempt')}${reason}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `crustcore inspect`; loaded only when the command runs. */
export const inspectAction: CommandAction = async (args, io) => {
  const path = args.positionals[0] ?? '';
  const { key, where } = findAnchorKey(io, stateDirFlag(args));
  const report = inspectLog(path, { anchorKey: key });
  io.stdout(args.json ? `${JSON.stringify(report)}\n` : renderInspect(report, where));
  return inspectExitCode(report);
};
