/**
 * `inspect`: verifies a log (see `scan.ts`) and, from the records that passed, replays the
 * kernel core to summarise where every task ended.
 */
import type { MacKey } from '../host/state-dir.js';
import { Replayer } from './replay.js';
import { scanLog, type ScanReport } from './scan.js';

/** Where one task ended, according to a replay of the verified records. */
export type TaskSummary = {
  readonly taskId: string;
  readonly status: string;
  readonly attempts: number;
  /** The reason code of a task that ended without success, else null. */
  readonly reason: string | null;
};

/** The verifier's report plus the per-task summary. */
export type InspectReport = ScanReport & {
  /** Tasks in the order they were created, from the records that passed verification. */
  readonly tasks: readonly TaskSummary[];
  /** Set when replaying a verified record broke a kernel invariant; the summary stops there. */
  readonly replayFailure: { readonly record: number; readonly reason: string } | null;
};

/** Verifies the log at `path` and summarises its tasks. Never throws for bad input. */
export function inspectLog(path: string, options: { readonly anchorKey: MacKey | null }): InspectReport {
  const replayer = new Replayer({ trackActions: false });
  let replayFailure: { record: number; reason: string } | null = null;
  const scan = scanLog(path, {
    anchorKey: options.anchorKey,
    visit: (record) => {
      if (record.kind !== 'event' || replayFailure !== null) return;
      try {
        replayer.apply(record.body);
      } catch (error) {
        replayFailure = { record: record.seq, reason: error instanceof Error ? error.message : String(error) };
      }
    },
  });
  const tasks = Object.values(replayer.state.tasks).map((task): TaskSummary => ({
    taskId: task.taskId,
    status: task.status,
    attempts: task.attempts.length,
    reason: task.reason === null ? null : task.reason.code,
  }));
  return { ...scan, tasks, replayFailure };
}
