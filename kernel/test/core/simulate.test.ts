/**
 * Seeded simulation in the spirit of TigerBeetle's VOPR: long streams from a seeded PRNG, with
 * every invariant checked after every step and a byte-identical replay at the end. The seed is
 * in the test name, so a failure is reproducible.
 */
import { expect, test } from 'vitest';
import type { Event, State } from '../../src/core/index.js';
import { Limits, canonicalJson, initialState, stateProblems, step } from '../../src/core/index.js';
import { VerificationOracle, prngSource, runStream } from './support.js';

const seeds = [1, 2, 3, 42, 0xdecaf, 0xc0ffee, 20_240_601, 987_654_321];

function replayDigest(events: readonly Event[]): string {
  let state: State = initialState;
  const actions: unknown[] = [];
  for (const event of events) {
    const result = step(state, event);
    state = result.state;
    actions.push(result.actions);
  }
  return canonicalJson({ state, actions });
}

const reached = { verified: 0, integrated: 0, statuses: new Set<string>() };

test.each(seeds)('seed %i: invariants hold after every step and replay is byte-identical', (seed) => {
  const oracle = new VerificationOracle();
  const { events, steps } = runStream(
    prngSource(seed, 40_000),
    (before, event, result) => {
      const problems = [...stateProblems(result.state), ...oracle.observe(before, event, result.state)];
      expect(problems, `seed ${seed}, event #${event.seq} ${event.kind}`).toEqual([]);
      expect(result.actions.length).toBeLessThanOrEqual(Limits.actionsPerEventMax);
    },
    3_000,
  );
  const actions = steps.map((s) => s.actions);
  const final = steps.at(-1)?.state ?? initialState;
  expect(replayDigest(events)).toBe(canonicalJson({ state: final, actions }));
  reached.verified += oracle.verifiedTransitions;
  reached.integrated += oracle.integrated;
  for (const s of steps) for (const task of s.state.tasks) reached.statuses.add(task.status);
});

test('the simulation reaches every status, including verified and integrated', () => {
  expect(reached.verified).toBeGreaterThan(0);
  expect(reached.integrated).toBeGreaterThan(0);
  expect([...reached.statuses].sort()).toEqual([
    'attempting',
    'awaiting-approval',
    'budget-exhausted',
    'cancelled',
    'created',
    'failed',
    'integrated',
    'integrating',
    'rejected',
    'verified',
    'verifying',
  ]);
});
