/**
 * The imperative shell's heart: every fact is stamped, appended to the log, and only then folded
 * through the core's `step`. The actions it returns are what the host performs, and a replay of
 * the log re-derives exactly the same ones (the same `Replayer` fold serves both).
 */
import { taskOf, type Action, type Event, type State, type Task } from '../core/index.js';
import type { CheckpointBody, LogWriter } from '../log/log-writer.js';
import { Replayer } from '../log/replay.js';

/** An event as the host states it: the driver stamps `seq` and `atMs`. */
export type Fact = Event extends infer E ? (E extends Event ? Omit<E, 'seq' | 'atMs'> : never) : never;

/** Drives one log: stamp, append, step. Not reentrant: one fact at a time. */
export class TaskDriver {
  readonly #writer: LogWriter;
  readonly #replayer = new Replayer({ trackActions: true });
  readonly #readClockMs: () => number;
  #nextSeq = 1;
  #lastAtMs = 0;
  #closed = false;

  constructor(writer: LogWriter, readClockMs: () => number = Date.now) {
    this.#writer = writer;
    this.#readClockMs = readClockMs;
  }

  /**
   * Continues a log that an earlier run left closed: `events` (every event of the log, in order)
   * are folded again without being written, so the state and the running action digest are
   * exactly what a replay derives; new facts continue after the last event's `seq`, and time
   * never runs behind the log's clock.
   */
  static resume(
    writer: LogWriter,
    events: readonly Readonly<Record<string, unknown>>[],
    readClockMs: () => number = Date.now,
  ): TaskDriver {
    const driver = new TaskDriver(writer, readClockMs);
    for (const event of events) driver.#replayer.apply(event);
    driver.#nextSeq = driver.#replayer.state.lastSeq + 1;
    driver.#lastAtMs = driver.#replayer.state.nowMs;
    return driver;
  }

  /** The log this driver writes. */
  get logPath(): string {
    return this.#writer.path;
  }

  /** The random id in the log's genesis record (receipts are bound to it). */
  get logId(): string {
    return this.#writer.logId;
  }

  /** Sequence number and hash of the last record written. */
  get head(): { readonly seq: number; readonly hash: string } {
    return { seq: this.#writer.lastSeq, hash: this.#writer.lastHash };
  }

  get state(): State {
    return this.#replayer.state;
  }

  /** The task `taskId` as the core sees it now. */
  task(taskId: string): Task | undefined {
    return taskOf(this.#replayer.state, taskId);
  }

  /** Records a fact, then steps it; returns the actions to perform. The log is written first. */
  emit(fact: Fact): readonly Action[] {
    if (this.#closed) throw new Error('TaskDriver: emit after close');
    this.#lastAtMs = Math.max(this.#lastAtMs, this.#readClockMs());
    const event = { ...fact, seq: this.#nextSeq, atMs: this.#lastAtMs };
    this.#writer.append(event);
    this.#nextSeq++;
    return this.#replayer.apply(event);
  }

  /** Writes the final checkpoint (state and action digests) and releases the log. */
  close(): CheckpointBody {
    if (this.#closed) throw new Error('TaskDriver: closed twice');
    this.#closed = true;
    const checkpoint = this.#replayer.checkpoint();
    this.#writer.appendCheckpoint(checkpoint);
    this.#writer.close();
    return checkpoint;
  }

  /** Releases the log without a checkpoint (a run that could not finish cleanly). */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.close();
  }
}
