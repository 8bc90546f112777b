import type { CheckpointBody } from '../../log/log-writer.js';
import { replayLog, type ReplayReport } from '../../log/replay.js';
import { findAnchorKey, stateDirFlag } from '../anchor-key.js';
import type { CommandAction } from '../command.js';
import { ExitCode } from '../exit-codes.js';

/** The exit code for a replay: 0 when the log is intact, replays, and every checkpoint matches. */
export function replayExitCode(report: ReplayReport): number {
  if (report.scan.status === 'unreadable') return ExitCode.usage;
  const ok = report.final !== null && report.checkpoints.every((checkpoint) => checkpoint.matches);
  return ok ? ExitCode.ok : ExitCode.failed;
}

function differences(expected: CheckpointBody, actual: CheckpointBody): string {
  const fields = ['eventCount', 'actionCount', 'stateSha256', 'actionsSha256'] as const;
  return fields
    .filter((field) => expected[field] !== actual[field])
    .map((field) => `${field} ${expected[field]} in the log, ${actual[field]} replayed`)
    .join('; ');
}

/** The human-readable replay report. */
export function renderReplay(report: ReplayReport): string {
  const { scan } = report;
  if (scan.status !== 'intact') {
    const where = scan.firstBadRecord === null ? '' : ` at record ${scan.firstBadRecord}`;
    return `NOT REPLAYED ${scan.path}\nthe log is ${scan.status}${where}: ${scan.reason ?? 'not intact'}\n`;
  }
  if (report.failure !== null) {
    return `NOT REPLAYED ${scan.path}\nstep failed at record ${report.failure.record}: ${report.failure.reason}\n`;
  }
  const lines = [`REPLAYED ${scan.path}`];
  if (report.final !== null) {
    lines.push(
      `events ${report.final.eventCount}, actions ${report.final.actionCount}`,
      `state sha256 ${report.final.stateSha256}`,
      `actions sha256 ${report.final.actionsSha256}`,
    );
  }
  if (report.checkpoints.length === 0) lines.push('no checkpoint in the log to compare with');
  for (const checkpoint of report.checkpoints) {
    lines.push(
      checkpoint.matches
        ? `checkpoint at record ${checkpoint.record}: matches`
        : `checkpoint at record ${checkpoint.record}: DIFFERS (${differences(checkpoint.expected, checkpoint.actual)})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `crustcore replay`; loaded only when the command runs. */
export const replayAction: CommandAction = async (args, io) => {
  const path = args.positionals[0] ?? '';
  const { key } = findAnchorKey(io, stateDirFlag(args));
  const report = replayLog(path, { anchorKey: key });
  io.stdout(args.json ? `${JSON.stringify(report)}\n` : renderReplay(report));
  return replayExitCode(report);
};
