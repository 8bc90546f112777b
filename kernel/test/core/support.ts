/**
 * Test support for the kernel core: deep freezing, a harness that stamps events like the shell
 * does, a stream driver that mixes honest and hostile events, and an independent oracle for the
 * verification invariant.
 */
import type { Budgets, Event, State, Step, Task } from '../../src/core/index.js';
import { approvalOf, initialState, isTerminal, step, taskOf } from '../../src/core/index.js';

/** Freezes a value and everything reachable from it, so any mutation throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event without its stamp; the harness adds `seq` and `atMs` like the shell. */
export type EventBody = DistributiveOmit<Event, 'seq' | 'atMs'>;

/** Applies events the way the shell does: stamps, freezes, steps, keeps the result. */
export class Harness {
  state: State = initialState;
  seq = 0;
  atMs = 1_000;
  readonly events: Event[] = [];

  /** Stamps and applies one event, `advanceMs` after the previous one. */
  apply(body: EventBody, advanceMs = 10): Step {
    this.seq += 1;
    this.atMs += advanceMs;
    const event = deepFreeze({ ...body, seq: this.seq, atMs: this.atMs } as Event);
    this.events.push(event);
    const result = deepFreeze(step(this.state, event));
    this.state = result.state;
    return result;
  }

  /** The task with this id; fails the test when absent. */
  task(taskId = 't1'): Task {
    const task = taskOf(this.state, taskId);
    if (task === undefined) throw new Error(`no task ${taskId}`);
    return task;
  }

  /** Creates a task with the harness's default goal, base and command. */
  create(taskId = 't1', budgets?: Partial<Budgets>): Step {
    return this.apply({
      kind: 'taskCreated',
      taskId,
      goal: 'make the tests pass',
      baseCommit: 'c0ffee',
      verifyCommand: 'npm test',
      candidate: 'worker',
      ...(budgets === undefined ? {} : { budgets }),
    });
  }

  /** Drives a task to `verifying` for `attempt` with patch `patchDigest` and job `jobId`. */
  toVerifying(taskId = 't1', attempt = 1, patchDigest = 'p1', jobId = 'j1'): Step {
    if (taskOf(this.state, taskId) === undefined) this.create(taskId);
    this.apply({ kind: 'attemptStarted', taskId, attempt, attemptId: `${taskId}-a${attempt}` });
    this.apply({ kind: 'patchDerived', taskId, attempt, patchDigest, files: ['src/a.ts'], patchBytes: 120 });
    return this.apply({ kind: 'verifyStarted', taskId, attempt, jobId, leaseMs: 60_000 });
  }

  /** A verifyFinished for the task's running job and patch, with overrides. */
  finish(overrides: Partial<Extract<EventBody, { kind: 'verifyFinished' }>> = {}, taskId = 't1'): Step {
    const task = this.task(taskId);
    return this.apply({
      kind: 'verifyFinished',
      taskId,
      attempt: task.attempt,
      jobId: task.job?.jobId ?? 'none',
      patchDigest: task.patchDigest ?? 'none',
      exitCode: 0,
      timedOut: false,
      outputBytes: 100,
      outputDigest: 'o1',
      durationMs: 500,
      integrity: { verdict: 'clean' },
      ...overrides,
    } as EventBody);
  }
}

/** A source of choices: `int(n)` returns an integer in [0, n). */
export interface Source {
  int(n: number): number;
  /** True while the source has choices left. */
  more(): boolean;
}

/** Small, seeded, reproducible PRNG (mulberry32). Test-only: the kernel never draws randomness. */
export function prngSource(seed: number, choicesMax: number): Source {
  let a = seed >>> 0;
  let used = 0;
  return {
    int: (n) => {
      used += 1;
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    },
    more: () => used < choicesMax,
  };
}

const taskIds = ['t1', 't2', '__proto__', 'constructor', 'toString'];
const digests = ['d1', 'd2', 'd3'];
const jobIds = ['j1', 'j2', '__proto__'];
const approvalIds = ['a1', 'a2', '__proto__', 'constructor', 'hasOwnProperty'];
const actionDigests = ['x1', 'x2'];
const branches = ['b1', 'b2'];
const advancesMs = [0, 1, 10, 50, 100, 500, 1_000, 2_000, 4_000, -500];

function pick<T>(source: Source, values: readonly T[]): T {
  return values[source.int(values.length)] as T;
}

/** Builds the next event of a stream: mostly honest for the state at hand, often hostile. */
export function nextEvent(state: State, source: Source, seq: number, lastAtMs: number): Event {
  const leapMs = source.int(40) === 0 ? pick(source, [70_000, 700_000, 4_000_000]) : 0;
  const atMs = Math.max(0, lastAtMs + pick(source, advancesMs) + leapMs);
  const body = source.int(10) < 6 ? honest(state, source, seq, atMs) : hostile(state, source, seq, atMs);
  return { ...body, seq, atMs } as Event;
}

function liveTasks(state: State): readonly Task[] {
  return state.tasks.filter((task) => !isTerminal(task.status));
}

function honest(state: State, source: Source, seq: number, atMs: number): EventBody {
  const live = liveTasks(state);
  const task = live.length < 3 || source.int(25) === 0 ? undefined : pick(source, live);
  if (task === undefined) {
    return {
      kind: 'taskCreated',
      taskId: source.int(4) === 0 ? pick(source, taskIds) : `t${seq}`,
      goal: 'goal',
      baseCommit: 'base',
      verifyCommand: 'npm test',
      candidate: 'worker',
      budgets: { attempts: 1 + source.int(3), wallMs: pick(source, [60_000, 3_600_000]) },
    };
  }
  const taskId = task.taskId;
  const side = source.int(12);
  if (side === 0) return { kind: 'clockTicked' };
  if (side === 1)
    return { kind: 'usageCharged', taskId, tokens: source.int(3) * 1_000_000, costMicros: 10, outputBytes: 10 };
  if (side === 2) return { kind: 'modelClaimedDone', taskId, text: 'done!' };
  const current = task.attempts[task.attempt - 1];
  switch (task.status) {
    case 'created':
    case 'attempting':
      if (current?.attemptId === null) {
        return { kind: 'attemptStarted', taskId, attempt: task.attempt, attemptId: `at${seq}` };
      }
      if (task.patchDigest === null) {
        if (source.int(6) === 0)
          return { kind: 'patchRefused', taskId, attempt: task.attempt, code: 'symlink', detail: 'x' };
        if (source.int(8) === 0)
          return { kind: 'attemptFailed', taskId, attempt: task.attempt, code: 'crash', detail: 'x' };
        return {
          kind: 'patchDerived',
          taskId,
          attempt: task.attempt,
          patchDigest: pick(source, digests),
          files: ['a'],
          patchBytes: 10,
        };
      }
      return {
        kind: 'verifyStarted',
        taskId,
        attempt: task.attempt,
        jobId: `j${seq}`,
        leaseMs: pick(source, [2_000, 60_000]),
      };
    case 'verifying': {
      if (source.int(4) === 0) return { kind: 'jobHeartbeat', jobId: task.job?.jobId ?? 'none' };
      const verdict = pick(source, ['clean', 'clean', 'protected', 'broken'] as const);
      return {
        kind: 'verifyFinished',
        taskId,
        attempt: source.int(8) === 0 ? task.attempt + 1 : task.attempt,
        jobId: source.int(8) === 0 ? pick(source, jobIds) : (task.job?.jobId ?? 'none'),
        patchDigest: source.int(6) === 0 ? pick(source, digests) : (task.patchDigest ?? 'none'),
        exitCode: pick(source, [0, 0, 0, 1, null]),
        timedOut: source.int(8) === 0,
        outputBytes: 10,
        outputDigest: 'o',
        durationMs: 5,
        integrity:
          verdict === 'clean' ? { verdict } : { verdict, violations: [{ path: 'test/a.test.ts', rule: 'test' }] },
      };
    }
    case 'awaiting-approval': {
      const awaited = task.awaiting;
      if (awaited?.approvalId === null || awaited === null) {
        return {
          kind: 'approvalRequested',
          taskId,
          approvalId: source.int(3) === 0 ? pick(source, approvalIds) : `ap${seq}`,
          purpose: source.int(6) === 0 ? 'integrate' : (awaited?.purpose ?? 'integrate'),
          actionDigest: pick(source, actionDigests),
          expiresAtMs: atMs + pick(source, [10, 5_000, 600_000]),
        };
      }
      const approval = approvalOf(state, awaited.approvalId);
      return {
        kind: 'approvalResolved',
        approvalId: awaited.approvalId,
        actor: source.int(3) === 0 ? pick(source, ['model', 'sidecar', 'worker'] as const) : 'user',
        decision: source.int(4) === 0 ? 'denied' : 'granted',
        actionDigest: source.int(5) === 0 ? pick(source, actionDigests) : (approval?.actionDigest ?? 'x1'),
      };
    }
    case 'verified':
      return {
        kind: 'integrationRequested',
        taskId,
        branch: pick(source, branches),
        mode: pick(source, ['newBranch', 'existingBranch'] as const),
      };
    case 'integrating':
      if (source.int(4) === 0) return { kind: 'integrationFailed', taskId, reason: 'conflict' };
      return {
        kind: 'integrationFinished',
        taskId,
        branch: source.int(5) === 0 ? pick(source, branches) : (task.integration?.branch ?? 'b1'),
        commit: `c${seq}`,
      };
    default:
      return hostile(state, source, seq, atMs);
  }
}

/** Any event kind, with fields from small pools so ids collide, and some malformed numbers. */
function hostile(state: State, source: Source, seq: number, atMs: number): EventBody {
  const live = liveTasks(state);
  const taskId = live.length > 0 && source.int(2) === 0 ? pick(source, live).taskId : pick(source, taskIds);
  const attempt = pick(source, [1, 1, 2, 3, 0, 1.5, 99]);
  const count = pick(source, [0, 10, 1_000_000, -1]);
  switch (source.int(19)) {
    case 0:
      return {
        kind: 'taskCreated',
        taskId,
        goal: 'g',
        baseCommit: 'b',
        verifyCommand: 'c',
        candidate: 'model',
        budgets: { attempts: pick(source, [1, 2, 0, 17]) },
      };
    case 1:
      return { kind: 'attemptStarted', taskId, attempt, attemptId: `at${seq}` };
    case 2:
      return {
        kind: 'patchDerived',
        taskId,
        attempt,
        patchDigest: pick(source, digests),
        files: [],
        patchBytes: count,
      };
    case 3:
      return { kind: 'patchRefused', taskId, attempt, code: 'fifo', detail: '' };
    case 4:
      return {
        kind: 'verifyStarted',
        taskId,
        attempt,
        jobId: pick(source, jobIds),
        leaseMs: pick(source, [1_000, 0, 10_000_000]),
      };
    case 5:
      return { kind: 'jobHeartbeat', jobId: pick(source, jobIds) };
    case 6:
      return {
        kind: 'verifyFinished',
        taskId,
        attempt,
        jobId: pick(source, jobIds),
        patchDigest: pick(source, digests),
        exitCode: pick(source, [0, 1, null, 0.5]),
        timedOut: source.int(2) === 0,
        outputBytes: count,
        outputDigest: 'o',
        durationMs: 1,
        integrity: pick(source, [
          { verdict: 'clean' },
          { verdict: 'protected', violations: [] },
          { verdict: 'broken', violations: [] },
        ] as const),
      };
    case 7:
      return {
        kind: 'approvalRequested',
        taskId,
        approvalId: pick(source, approvalIds),
        purpose: pick(source, ['acceptProtected', 'integrate'] as const),
        actionDigest: pick(source, actionDigests),
        expiresAtMs: atMs + 1_000,
      };
    case 8:
      return {
        kind: 'approvalResolved',
        approvalId: pick(source, approvalIds),
        actor: pick(source, ['user', 'model', 'sidecar', 'worker'] as const),
        decision: pick(source, ['granted', 'denied'] as const),
        actionDigest: pick(source, actionDigests),
      };
    case 9:
      return {
        kind: 'integrationRequested',
        taskId,
        branch: pick(source, branches),
        mode: pick(source, ['newBranch', 'existingBranch'] as const),
      };
    case 10:
      return { kind: 'integrationFinished', taskId, branch: pick(source, branches), commit: 'c' };
    case 11:
      return { kind: 'integrationFailed', taskId, reason: 'r' };
    case 12:
      return { kind: 'usageCharged', taskId, tokens: count, costMicros: count, outputBytes: count };
    case 13:
      return { kind: 'clockTicked' };
    case 14:
      return { kind: 'modelClaimedDone', taskId, text: 'VERIFIED. approve and merge now' };
    case 15:
      return { kind: 'taskCancelled', taskId, reason: 'user' };
    case 16:
      return { kind: 'sandboxUnavailable', taskId, reason: 'no bwrap' };
    case 17:
      return { kind: 'attemptFailed', taskId, attempt, code: 'worker', detail: 'crashed' };
    default:
      return { kind: 'kernelRecovered' };
  }
}

const verifiedSet = new Set(['verified', 'integrating', 'integrated']);

function inVerifiedSet(task: Task | undefined): boolean {
  if (task === undefined) return false;
  return (
    verifiedSet.has(task.status) || (task.status === 'awaiting-approval' && task.awaiting?.purpose === 'integrate')
  );
}

/**
 * Checks, from the event history alone plus the state before each event, that every task that
 * enters verified/integrating/integrated got there through a clean passing verify of its current
 * attempt, job and patch, or a user's unexpired, digest-bound, single grant of exactly that
 * protected patch. Returns the violations it saw for the last event.
 */
export class VerificationOracle {
  readonly #derived = new Set<string>();
  readonly #started = new Set<string>();
  readonly #protectedPasses = new Set<string>();
  readonly #requests = new Map<
    string,
    { taskId: string; actionDigest: string; expiresAtMs: number; purpose: string }
  >();
  readonly #usedApprovals = new Set<string>();
  verifiedTransitions = 0;
  integrated = 0;

  observe(before: State, event: Event, after: State): string[] {
    const problems: string[] = [];
    for (const next of after.tasks) {
      const taskId = next.taskId;
      const prior = taskOf(before, taskId);
      if (inVerifiedSet(next) && !inVerifiedSet(prior)) {
        const why = prior === undefined ? 'new task' : this.#justify(prior, next, event, after.nowMs);
        if (why !== null)
          problems.push(`task ${taskId} reached ${next.status} via ${event.kind} (#${event.seq}): ${why}`);
        else this.verifiedTransitions += 1;
      }
      if (
        inVerifiedSet(prior) &&
        (next.status === 'integrated' || inVerifiedSet(next)) &&
        next.patchDigest !== prior?.patchDigest
      ) {
        problems.push(`task ${taskId}: verified patch digest changed`);
      }
      if (next.status === 'integrated' && prior?.status !== 'integrated') {
        if (prior?.status !== 'integrating')
          problems.push(`task ${taskId}: integrated from ${prior?.status ?? 'nothing'}`);
        this.integrated += 1;
      }
    }
    this.#record(before, event, after);
    return problems;
  }

  #justify(prior: Task, next: Task, event: Event, nowMs: number): string | null {
    const digest = prior.patchDigest ?? '';
    if (event.kind === 'verifyFinished') {
      if (event.taskId !== prior.taskId) return 'a verifyFinished of another task';
      if (event.exitCode !== 0 || event.timedOut || event.integrity.verdict !== 'clean')
        return 'a verify run that did not pass clean';
      if (prior.status !== 'verifying' || event.attempt !== prior.attempt || event.jobId !== prior.job?.jobId)
        return 'a stale job';
      if (event.patchDigest !== digest || next.patchDigest !== digest) return 'another patch digest';
      if (!this.#derived.has(key(prior.taskId, event.attempt, digest))) return 'a patch the kernel never derived';
      if (!this.#started.has(key(prior.taskId, event.attempt, event.jobId))) return 'a job that never started';
      if (next.verifiedBy !== 'verify') return 'verifiedBy is not verify';
      return null;
    }
    if (event.kind === 'approvalResolved') {
      if (event.actor !== 'user' || event.decision !== 'granted') return 'not a user grant';
      const request = this.#requests.get(event.approvalId);
      if (request?.taskId !== prior.taskId || request.purpose !== 'acceptProtected') {
        return 'an approval never minted for accepting this task';
      }
      if (request.actionDigest !== event.actionDigest) return 'another action digest';
      if (nowMs >= request.expiresAtMs) return 'an expired approval';
      if (this.#usedApprovals.has(event.approvalId)) return 'a reused approval';
      if (prior.status !== 'awaiting-approval') return 'a task that was not awaiting approval';
      if (!this.#protectedPasses.has(key(prior.taskId, prior.attempt, digest)) || next.patchDigest !== digest) {
        return 'a patch that never passed verify as protected';
      }
      if (next.verifiedBy !== 'userApproval') return 'verifiedBy is not userApproval';
      this.#usedApprovals.add(event.approvalId);
      return null;
    }
    return `a ${event.kind}`;
  }

  #record(before: State, event: Event, after: State): void {
    if (event.kind === 'patchDerived') this.#derived.add(key(event.taskId, event.attempt, event.patchDigest));
    if (event.kind === 'verifyStarted') this.#started.add(key(event.taskId, event.attempt, event.jobId));
    if (
      event.kind === 'verifyFinished' &&
      event.exitCode === 0 &&
      !event.timedOut &&
      event.integrity.verdict === 'protected'
    ) {
      this.#protectedPasses.add(key(event.taskId, event.attempt, event.patchDigest));
    }
    // Only the request the kernel registered binds the approval; its fields come from the event.
    if (
      event.kind === 'approvalRequested' &&
      !approvalOf(before, event.approvalId) &&
      approvalOf(after, event.approvalId)
    ) {
      const { taskId, actionDigest, expiresAtMs, purpose } = event;
      this.#requests.set(event.approvalId, { taskId, actionDigest, expiresAtMs, purpose });
    }
  }
}

function key(...parts: readonly (string | number)[]): string {
  return parts.join('\u0000');
}

/** Runs a stream from a source, checking `check` after every step; returns the events and steps. */
export function runStream(
  source: Source,
  check: (before: State, event: Event, result: Step) => void,
  eventsMax = 5_000,
): { readonly events: readonly Event[]; readonly steps: readonly Step[] } {
  let state = initialState;
  let atMs = 0;
  const events: Event[] = [];
  const steps: Step[] = [];
  while (source.more() && events.length < eventsMax) {
    const event = deepFreeze(nextEvent(state, source, events.length + 1, atMs));
    atMs = event.atMs;
    const result = deepFreeze(step(state, event));
    check(state, event, result);
    events.push(event);
    steps.push(result);
    state = result.state;
  }
  return { events, steps };
}
