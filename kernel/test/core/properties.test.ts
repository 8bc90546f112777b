/**
 * Properties of the reducer over arbitrary streams. fast-check supplies a seed and a stream
 * length; the driver in support.ts turns them into a stream that mixes honest lifecycle events
 * with hostile ones (colliding and prototype-named ids, wrong actors, stale jobs, foreign
 * digests, malformed numbers, time running backwards, crash recoveries). Shrinking finds the
 * shortest failing prefix of a failing stream.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Event, State, Step } from '../../src/core/index.js';
import { Limits, canonicalJson, initialState, stateProblems, step } from '../../src/core/index.js';
import { VerificationOracle, prngSource, runStream } from './support.js';

const choices = fc.record({ seed: fc.integer(), length: fc.integer({ min: 1, max: 400 }) });
const runs = { numRuns: 200 };

/** The stream of `length` events drawn from `seed`. */
function stream(
  values: { readonly seed: number; readonly length: number },
  check: Parameters<typeof runStream>[1],
): ReturnType<typeof runStream> {
  return runStream(prngSource(values.seed, Number.MAX_SAFE_INTEGER), check, values.length);
}

function replay(events: readonly Event[]): { readonly state: State; readonly steps: readonly Step[] } {
  let state = initialState;
  const steps: Step[] = [];
  for (const event of events) {
    const result = step(state, event);
    steps.push(result);
    state = result.state;
  }
  return { state, steps };
}

describe('reducer properties', () => {
  test('no stream reaches verified or integrated without a clean pass of the current patch or a user grant of it', () => {
    let verified = 0;
    let integrated = 0;
    fc.assert(
      fc.property(choices, (values) => {
        const oracle = new VerificationOracle();
        stream(values, (before, event, result) => {
          expect(oracle.observe(before, event, result.state)).toEqual([]);
        });
        verified += oracle.verifiedTransitions;
        integrated += oracle.integrated;
      }),
      runs,
    );
    // The property is only worth something if the streams do reach the guarded states.
    expect(verified).toBeGreaterThan(runs.numRuns / 2);
    expect(integrated).toBeGreaterThan(0);
  });

  test('replaying the same events yields the same state and the same actions', () => {
    fc.assert(
      fc.property(choices, (values) => {
        const { events, steps } = stream(values, () => undefined);
        const again = replay(events);
        const last = steps.at(-1)?.state ?? initialState;
        expect(canonicalJson(again.state)).toBe(canonicalJson(last));
        expect(canonicalJson(again.steps.map((s) => s.actions))).toBe(canonicalJson(steps.map((s) => s.actions)));
      }),
      runs,
    );
  });

  test('re-feeding any applied event is a no-op', () => {
    fc.assert(
      fc.property(choices, fc.array(fc.nat(), { minLength: 1, maxLength: 10 }), (values, picks) => {
        const { events, steps } = stream(values, () => undefined);
        const state = steps.at(-1)?.state ?? initialState;
        for (const pick of picks) {
          const event = events[pick % events.length];
          if (event === undefined) continue;
          const result = step(state, event);
          expect(result.state).toBe(state);
          expect(result.actions).toEqual([]);
        }
      }),
      runs,
    );
  });

  test('every step keeps the state sound, JSON round-trippable, and the actions bounded', () => {
    fc.assert(
      fc.property(choices, (values) => {
        stream(values, (_before, event, result) => {
          expect(result.actions.length).toBeLessThanOrEqual(Limits.actionsPerEventMax);
          expect(result.state.lastSeq).toBe(event.seq);
          expect(stateProblems(result.state)).toEqual([]);
        });
      }),
      runs,
    );
    fc.assert(
      fc.property(choices, (values) => {
        const { steps } = stream(values, () => undefined);
        const state = steps.at(-1)?.state ?? initialState;
        expect(JSON.parse(JSON.stringify(state))).toEqual(state);
        expect(canonicalJson(JSON.parse(canonicalJson(state)))).toBe(canonicalJson(state));
      }),
      runs,
    );
  });
});
