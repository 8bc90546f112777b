/**
 * Replay: folds the kernel core's `step` over a log's events and compares the result with the
 * log's checkpoint records. A checkpoint commits to SHA-256 of `canonicalJson(state)` and of
 * `canonicalJson(actions)`, where `actions` is every action `step` returned so far, in order.
 */
import { createHash, type Hash } from 'node:crypto';
import { canonicalJson, initialState, step, type Action, type Event, type State } from '../core/index.js';
import type { MacKey } from '../host/state-dir.js';
import type { CheckpointBody } from './log-writer.js';
import { sha256Hex, type ParsedRecord } from './record-format.js';
import { scanLog, type ScanReport } from './scan.js';

/** Folds `step` over events; optionally keeps the running digest of every action. */
export class Replayer {
  #state: State = initialState;
  #eventCount = 0;
  #actionCount = 0;
  readonly #actions: Hash | null;

  /** `trackActions` off skips serialising actions (inspect needs only the state). */
  constructor(options: { readonly trackActions: boolean }) {
    this.#actions = options.trackActions ? createHash('sha256').update('[') : null;
  }

  /** The state after the events applied so far. */
  get state(): State {
    return this.#state;
  }

  /**
   * Applies one event and returns the actions `step` emitted for it; a throw from `step` (a
   * kernel invariant) propagates. The host drives live runs through this same fold, so what it
   * performs is exactly what a replay re-derives.
   */
  apply(event: Readonly<Record<string, unknown>>): readonly Action[] {
    const result = step(this.#state, event as unknown as Event);
    this.#state = result.state;
    this.#eventCount++;
    const hash = this.#actions;
    if (hash === null) {
      this.#actionCount += result.actions.length;
      return result.actions;
    }
    for (const action of result.actions) {
      hash.update(this.#actionCount === 0 ? canonicalJson(action) : `,${canonicalJson(action)}`);
      this.#actionCount++;
    }
    return result.actions;
  }

  /** The checkpoint for the events applied so far; needs `trackActions`. */
  checkpoint(): CheckpointBody {
    const hash = this.#actions;
    if (hash === null) throw new Error('Replayer.checkpoint needs trackActions: true');
    return {
      eventCount: this.#eventCount,
      actionCount: this.#actionCount,
      stateSha256: sha256Hex(canonicalJson(this.#state)),
      actionsSha256: hash.copy().update(']').digest('hex'),
    };
  }
}

/** A checkpoint record compared with the replayed state at that point. */
export type CheckpointComparison = {
  readonly record: number;
  readonly expected: CheckpointBody;
  readonly actual: CheckpointBody;
  readonly matches: boolean;
};

/** The outcome of `replayLog`. */
export type ReplayReport = {
  readonly scan: ScanReport;
  /** Null when the log is not intact or replay stopped early. */
  readonly final: CheckpointBody | null;
  /** Every checkpoint in the log, in order, with what replay computed there. */
  readonly checkpoints: readonly CheckpointComparison[];
  /** Set when `step` refused to continue (a kernel invariant broke on a record). */
  readonly failure: { readonly record: number; readonly reason: string } | null;
};

/** Re-runs `step` over every event of the log at `path` and compares every checkpoint. */
export function replayLog(path: string, options: { readonly anchorKey: MacKey | null }): ReplayReport {
  const replayer = new Replayer({ trackActions: true });
  const checkpoints: CheckpointComparison[] = [];
  let failure: { record: number; reason: string } | null = null;
  const visit = (record: ParsedRecord): void => {
    if (failure !== null) return;
    switch (record.kind) {
      case 'genesis':
        return;
      case 'event':
        try {
          replayer.apply(record.body);
        } catch (error) {
          failure = { record: record.seq, reason: error instanceof Error ? error.message : String(error) };
        }
        return;
      case 'checkpoint': {
        const expected = record.body as unknown as CheckpointBody;
        const actual = replayer.checkpoint();
        checkpoints.push({ record: record.seq, expected, actual, matches: sameCheckpoint(expected, actual) });
        return;
      }
      default: {
        const never: never = record.kind;
        throw new Error(`unreachable record kind ${String(never)}`);
      }
    }
  };
  const scan = scanLog(path, { anchorKey: options.anchorKey, visit });
  const final = scan.status === 'intact' && failure === null ? replayer.checkpoint() : null;
  return { scan, final, checkpoints, failure };
}

function sameCheckpoint(a: CheckpointBody, b: CheckpointBody): boolean {
  return (
    a.eventCount === b.eventCount &&
    a.actionCount === b.actionCount &&
    a.stateSha256 === b.stateSha256 &&
    a.actionsSha256 === b.actionsSha256
  );
}
