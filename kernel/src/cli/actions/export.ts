import { exportLog } from '../../log/export.js';
import { findAnchorKey, stateDirFlag } from '../anchor-key.js';
import type { CommandAction } from '../command.js';
import { ExitCode } from '../exit-codes.js';

/** Output is flushed in pieces of about this size, so a large export is not one giant string. */
const flushChars = 64 * 1024;

/** Runs `crustcore export`; loaded only when the command runs. */
export const exportAction: CommandAction = async (args, io) => {
  const path = args.positionals[0] ?? '';
  const { key } = findAnchorKey(io, stateDirFlag(args));
  const events: unknown[] = [];
  let pending = '';
  const report = exportLog(path, {
    anchorKey: key,
    write: (line) => {
      if (args.json) {
        events.push(JSON.parse(line));
        return;
      }
      pending += line;
      if (pending.length >= flushChars) {
        io.stdout(pending);
        pending = '';
      }
    },
  });
  if (pending !== '') io.stdout(pending);
  const { scan } = report;
  if (args.json)
    io.stdout(
      `${JSON.stringify({ status: scan.status, report: scan, exported: report.exported, redactionFailure: report.redactionFailure, events })}\n`,
    );
  if (scan.status === 'unreadable') {
    io.stderr(`crustcore: cannot export ${path}: ${scan.reason ?? 'unreadable'}.\n`);
    return ExitCode.usage;
  }
  if (report.redactionFailure !== null) {
    io.stderr(
      `crustcore: export stopped at record ${report.redactionFailure.record}: ${report.redactionFailure.reason}.\n`,
    );
    return ExitCode.failed;
  }
  if (scan.status !== 'intact') {
    const where = scan.firstBadRecord === null ? '' : ` at record ${scan.firstBadRecord}`;
    io.stderr(
      `crustcore: exported ${report.exported} events, but the log is ${scan.status}${where} (${scan.reason ?? 'not intact'}). Run 'crustcore inspect ${path}'.\n`,
    );
    return ExitCode.failed;
  }
  return ExitCode.ok;
};
