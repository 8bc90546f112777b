import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fixturesDirectory, readFixtures } from '../src/v1/fixtures.js';
import type { ConformanceLimits } from './conformance-limits.js';
import { defaultConformanceLimits } from './conformance-limits.js';
import type { ExpectedFailures } from './expected-failures.js';
import type { HelperCommand } from './helper-process.js';
import { HelperProcess } from './helper-process.js';
import type { ConformanceReport, ScenarioResult } from './report.js';
import type { Scenario, ScenarioContext } from './scenarios.js';
import { fixtureScenario, handshake, isPlayable, protocolScenarios, ScenarioFailure } from './scenarios.js';
import type { SidecarKind } from './sidecar-kinds.js';
import { sidecarKinds } from './sidecar-kinds.js';

/** What to check and how. */
export interface ConformanceOptions {
  /** The sidecar kind: `net`, `index` or `mcp`. */
  readonly sidecar: string;
  /** The helper to run: an executable and its arguments, started without a shell. */
  readonly command: HelperCommand;
  /** Scenario names known to fail, with reasons. */
  readonly expectedFailures?: ExpectedFailures;
  readonly limits?: Partial<ConformanceLimits>;
  /** Fixtures root (the folder holding `manifest.json`); found beside the kit by default. */
  readonly fixturesRoot?: string;
}

/**
 * Where the protocol fixtures are: beside the source (`protocol/fixtures/v1`), or beside the built
 * kit (`protocol/dist/crustcore-conformance.js` → `protocol/fixtures/v1`).
 */
export function defaultFixturesRoot(): string {
  const candidates = [fixturesDirectory, resolve(import.meta.dirname, '..', 'fixtures', 'v1')];
  const found = candidates.find((candidate) => existsSync(join(candidate, 'manifest.json')));
  if (found === undefined)
    throw new Error(`no protocol fixtures found (looked in ${candidates.join(', ')}); pass --fixtures <dir>`);
  return found;
}

/** Every scenario for a kind: protocol scenarios first, then one per playable fixture. */
export function scenariosFor(kind: SidecarKind, fixturesRoot: string = defaultFixturesRoot()): Scenario[] {
  const set = readFixtures(fixturesRoot);
  if (set.problems.length > 0) throw new Error(`the fixtures are broken: ${set.problems[0] ?? ''}`);
  return [
    ...protocolScenarios(kind),
    ...set.fixtures.filter((fixture) => isPlayable(fixture, kind)).map(fixtureScenario),
  ];
}

async function runOne(
  scenario: Scenario,
  options: { command: HelperCommand; kind: SidecarKind; limits: ConformanceLimits },
  shared: () => Promise<HelperProcess>,
): Promise<{ passed: boolean; detail: string; durationMs: number }> {
  const started = performance.now();
  const helpers: HelperProcess[] = [];
  const context: ScenarioContext = {
    ...options,
    start: () => {
      const helper = new HelperProcess(options.command);
      helpers.push(helper);
      return helper;
    },
    initialized: async () => {
      const helper = context.start();
      try {
        await handshake(helper, options.kind, options.limits);
      } catch (error) {
        throw new ScenarioFailure(`handshake failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      return helper;
    },
  };
  const borrowed: HelperProcess[] = [];
  const borrow = async (): Promise<HelperProcess> => {
    const helper = await shared();
    borrowed.push(helper);
    return helper;
  };
  let passed = true;
  let detail: string;
  try {
    detail = await scenario.run(context, borrow);
  } catch (error) {
    passed = false;
    detail =
      error instanceof ScenarioFailure
        ? error.message
        : `the kit failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  for (const helper of [...helpers, ...borrowed]) {
    if (passed && helper.stdoutViolation !== null) {
      passed = false;
      detail = `stdout carried something that is not a protocol frame: ${helper.stdoutViolation}`;
    }
  }
  for (const helper of helpers) helper.kill();
  if (!passed) {
    const stderr = [...helpers, ...borrowed]
      .map((helper) => helper.stderr.trim())
      .filter((text) => text !== '')
      .at(-1);
    if (stderr !== undefined) detail += ` [stderr: ${stderr.split('\n').at(-1)?.slice(0, 160) ?? ''}]`;
  }
  return { passed, detail, durationMs: Math.round(performance.now() - started) };
}

/**
 * Runs every scenario for the sidecar kind against the helper command and applies the expected
 * failures: a listed scenario that fails is `expectedFailure`, a listed one that passes (or a name
 * that matches no scenario) is `stale`, and both unexpected failures and stale entries make the
 * run fail. Every helper process is killed (its whole process group) when its scenario ends.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const kind = Object.hasOwn(sidecarKinds, options.sidecar) ? sidecarKinds[options.sidecar] : undefined;
  if (kind === undefined) {
    throw new Error(`unknown sidecar kind '${options.sidecar}'; known kinds: ${Object.keys(sidecarKinds).join(', ')}`);
  }
  const limits = { ...defaultConformanceLimits, ...options.limits };
  const scenarios = scenariosFor(kind, options.fixturesRoot);
  const outcomes = new Map<string, { passed: boolean; detail: string; durationMs: number }>();
  const setup = { command: options.command, kind, limits };

  // Scenarios in the shared lane reuse one initialized helper, restarted if a scenario ended it.
  let sharedHelper: HelperProcess | null = null;
  const shared = async (): Promise<HelperProcess> => {
    if (sharedHelper !== null && sharedHelper.exit === null && sharedHelper.stdoutViolation === null)
      return sharedHelper;
    sharedHelper?.kill();
    const helper = new HelperProcess(options.command);
    sharedHelper = helper;
    try {
      await handshake(helper, kind, limits);
    } catch (error) {
      throw new ScenarioFailure(`handshake failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return helper;
  };
  const sharedLane = scenarios.filter((scenario) => scenario.lane === 'shared');
  const jobs: (() => Promise<void>)[] = [
    async () => {
      for (const scenario of sharedLane) outcomes.set(scenario.name, await runOne(scenario, setup, shared));
      (sharedHelper as HelperProcess | null)?.kill();
    },
    ...scenarios
      .filter((scenario) => scenario.lane !== 'shared')
      .map((scenario) => async () => {
        outcomes.set(scenario.name, await runOne(scenario, setup, shared));
      }),
  ];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]?.();
  };
  await Promise.all(Array.from({ length: Math.max(1, limits.concurrency) }, worker));

  const expected = options.expectedFailures ?? new Map<string, string>();
  const results: ScenarioResult[] = scenarios.map((scenario) => {
    const outcome = outcomes.get(scenario.name) ?? { passed: false, detail: 'did not run', durationMs: 0 };
    const reason = expected.get(scenario.name);
    if (reason === undefined)
      return {
        name: scenario.name,
        status: outcome.passed ? 'pass' : 'fail',
        detail: outcome.detail,
        durationMs: outcome.durationMs,
      };
    return outcome.passed
      ? {
          name: scenario.name,
          status: 'stale',
          detail: `listed as an expected failure (${reason}) but passed; remove the entry`,
          durationMs: outcome.durationMs,
        }
      : {
          name: scenario.name,
          status: 'expectedFailure',
          detail: `${outcome.detail} (expected: ${reason})`,
          durationMs: outcome.durationMs,
        };
  });
  const names = new Set(scenarios.map((scenario) => scenario.name));
  for (const [name, reason] of expected) {
    if (!names.has(name))
      results.push({
        name,
        status: 'stale',
        detail: `listed as an expected failure (${reason}) but no such scenario exists; remove the entry`,
        durationMs: 0,
      });
  }
  const ok = results.every((result) => result.status === 'pass' || result.status === 'expectedFailure');
  return { sidecar: kind.name, command: [options.command.command, ...options.command.args], ok, results };
}
