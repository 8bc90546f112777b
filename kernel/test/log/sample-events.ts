/**
 * Realistic event streams for log tests and the benchmark: every task is created, fails verify on
 * its first attempt, and passes on its second, with `heartbeats` job heartbeats per verify run.
 */
const digestOf = (n: number): string => n.toString(16).padStart(64, '0');

/** Events for `tasks` tasks, stamped with seq from 1 and atMs from `startMs`. */
export function sampleEvents(tasks: number, heartbeats = 0, startMs = 1_700_000_000_000): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  const push = (event: Record<string, unknown>): void => {
    const seq = events.length + 1;
    events.push({ ...event, seq, atMs: startMs + seq * 10 });
  };
  for (let t = 1; t <= tasks; t++) {
    const taskId = `task-${t}`;
    push({
      kind: 'taskCreated',
      taskId,
      goal: `make test ${t} pass`,
      baseCommit: digestOf(t).slice(0, 40),
      verifyCommand: 'npm test',
      candidate: 'model',
    });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const patchDigest = digestOf(t * 10 + attempt);
      const jobId = `job-${t}-${attempt}`;
      push({ kind: 'attemptStarted', taskId, attempt, attemptId: `attempt-${t}-${attempt}` });
      push({ kind: 'patchDerived', taskId, attempt, patchDigest, files: ['src/a.ts'], patchBytes: 120 });
      push({ kind: 'verifyStarted', taskId, attempt, jobId, leaseMs: 60_000 });
      for (let h = 0; h < heartbeats; h++) push({ kind: 'jobHeartbeat', jobId });
      push({
        kind: 'verifyFinished',
        taskId,
        attempt,
        jobId,
        patchDigest,
        exitCode: attempt === 2 ? 0 : 1,
        timedOut: false,
        outputBytes: 2048,
        outputDigest: digestOf(t * 100 + attempt),
        durationMs: 1500,
        integrity: { verdict: 'clean' },
      });
    }
  }
  return events;
}
