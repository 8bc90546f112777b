/**
 * Recovery after a crash: a task log whose writer died mid-run (its lock names a dead process)
 * is reopened, and `kernelRecovered` is recorded, which fails every task still in flight with
 * `crashRecovery`. A crash can therefore end a task, never pass it, and its log says so. A torn
 * or unanchored log is left as it is and reported: `crustcore inspect` shows what survived.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isInFlight } from '../core/index.js';
import { LogError } from '../log/log-error.js';
import { ResumedTask } from './resume-task.js';
import type { StateDir } from './state-dir.js';

/** What recovery did to one crashed log. */
export type Recovery =
  | { readonly taskId: string; readonly outcome: 'failed'; readonly logPath: string }
  | { readonly taskId: string; readonly outcome: 'unreadable'; readonly logPath: string; readonly reason: string };

const lockSuffix = '.jsonl.lock';

/**
 * Recovers every crashed task log of one repo. Logs held by a live writer (a run going on now)
 * are skipped, as are logs whose tasks had all ended.
 */
export function recoverCrashedTasks(stateDir: StateDir, repoState: string, nowMs: number): readonly Recovery[] {
  const logsDir = join(repoState, 'logs');
  if (!existsSync(logsDir)) return [];
  const recoveries: Recovery[] = [];
  for (const name of readdirSync(logsDir)) {
    if (!name.endsWith(lockSuffix)) continue;
    const taskId = name.slice(0, -lockSuffix.length);
    const logPath = join(logsDir, `${taskId}.jsonl`);
    let resumed: ResumedTask;
    try {
      resumed = ResumedTask.open({ stateDir, repoState, taskId, nowMs });
    } catch (error) {
      // A live writer holds the lock: that run is going on now and is none of our business.
      if (error instanceof LogError && error.code === 'locked') continue;
      recoveries.push({ taskId, outcome: 'unreadable', logPath, reason: (error as Error).message });
      continue;
    }
    if (!isInFlight(resumed.task().status)) {
      resumed.abandon();
      continue;
    }
    resumed.driver.emit({ kind: 'kernelRecovered' });
    resumed.close();
    recoveries.push({ taskId, outcome: 'failed', logPath });
  }
  return recoveries;
}
