/**
 * Token and cost budgets of the native agent loop, through the built CLI with the scripted net
 * sidecar, real git and the real bubblewrap sandbox. Invariants: each completion is charged
 * `ceil((input * inputPrice + output * outputPrice) / 1e6)` micros at the provider's configured
 * pricing (0 without it); `--max-cost` and `--max-tokens` land in `taskCreated.budgets` and end
 * the task `budget-exhausted` with the reducer's code, in `--json` and for a person; a cost cap
 * that cannot be measured, a cap without `--model`, or a malformed amount is a usage error
 * (exit 2, one line, no log). Every log is proven intact and replayable.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseCostMicros } from '../../kernel/src/cli/actions/run.js';
import type { Event } from '../../kernel/src/core/index.js';
import { demoRepoFiles, demoVerifyCommand } from '../../kernel/src/host/demo-repo.js';
import { demoModelScript } from '../../kernel/src/host/demo-script.js';
import {
  eventsOf,
  Exit,
  cli,
  logsOf,
  makeRepo,
  makeWorld,
  parseJson,
  requireBwrap,
  run,
  runJson,
  useBuiltCli,
  useWorlds,
  verdictLines,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

/** The charges of completions (tool results charge output bytes only). */
function completionCharges(events: readonly Event[]): { tokens: number; costMicros: number }[] {
  return events.flatMap((e) =>
    e.kind === 'usageCharged' && e.tokens > 0 ? [{ tokens: e.tokens, costMicros: e.costMicros }] : [],
  );
}

function budgetsOf(events: readonly Event[]): unknown {
  const created = events.find((e) => e.kind === 'taskCreated');
  return created?.kind === 'taskCreated' ? created.budgets : undefined;
}

/** The scripted mock's token count for a text: four UTF-16 code units a token, rounded up. */
const mockTokens = (text: string): number => Math.ceil(text.length / 4);

/** ceil((input * inputPrice + output * outputPrice) / 1e6), in BigInt. */
function expectedMicros(input: number, output: number, inputPrice: number, outputPrice: number): number {
  const exact = BigInt(input) * BigInt(inputPrice) + BigInt(output) * BigInt(outputPrice);
  return Number((exact + 999_999n) / 1_000_000n);
}

const inputPrice = 2_500_000;
const outputPrice = 1_500_000;

function writeConfig(world: World, providers: unknown): string {
  const path = join(world.root, 'config.json');
  writeFileSync(path, JSON.stringify({ providers }));
  return path;
}

function pricedWorld(): { world: World; config: string } {
  const probe = makeWorld();
  const config = writeConfig(probe, {
    mock: {
      kind: 'mock',
      pricing: { inputMicrosPerMillionTokens: inputPrice, outputMicrosPerMillionTokens: outputPrice },
    },
  });
  probe.env['CRUSTCORE_CONFIG'] = config;
  return { world: probe, config };
}

function writeScript(world: World, turns: unknown): string {
  const path = join(world.root, 'script.json');
  writeFileSync(path, JSON.stringify({ turns }));
  return path;
}

/** `run --json` of the demo's verify command with the scripted model, plus `extra` flags. */
function runScripted(world: World, repoDir: string, script: string, extra: readonly string[] = []) {
  return runJson(world, repoDir, [
    '--verify',
    demoVerifyCommand,
    '--model',
    'mock:scripted',
    '--script',
    script,
    ...extra,
  ]);
}

const firstTurn = {
  content: 'Reading the module first.',
  toolCalls: [{ id: 'r1', name: 'read_file', arguments: JSON.stringify({ path: 'src/stats.js' }) }],
};

describe('cost is charged at the configured pricing', () => {
  test('--max-cost ends the task budget-exhausted after the completion that goes over', async () => {
    const { world } = pricedWorld();
    const repo = makeRepo(world, demoRepoFiles);
    const script = writeScript(world, [firstTurn, firstTurn]);
    const { code, report } = await runScripted(world, repo.dir, script, ['--max-cost', '0.00001']);
    const events = eventsOf(report.log.path);
    const charges = completionCharges(events);
    const [first] = charges;
    const output = mockTokens(firstTurn.content);
    const cost = expectedMicros((first?.tokens ?? 0) - output, output, inputPrice, outputPrice);
    expect({
      code,
      verdict: report.verdict,
      reason: report.reason,
      budget: report.budget,
      attempts: report.attempts.map((a) => [a.outcome, a.reason]),
      budgets: budgetsOf(events),
      charges,
    }).toEqual({
      code: Exit.rejected,
      verdict: 'budget-exhausted',
      reason: `costMicrosExceeded: ${cost} of 10 cost micros`,
      budget: { code: 'costMicrosExceeded', used: cost, limit: 10 },
      attempts: [['abandoned', `costMicrosExceeded: ${cost} of 10 cost micros`]],
      budgets: { attempts: 2, wallMs: 600_000 * 5, costMicros: 10 },
      charges: [{ tokens: first?.tokens, costMicros: cost }],
    });
    expect(cost).toBeGreaterThan(10);
    expect(events.at(-1)?.kind).toBe('usageCharged');
  });

  test('without a cap, every completion is charged its exact cost and the default budget leaves room', async () => {
    const { world } = pricedWorld();
    const repo = makeRepo(world, demoRepoFiles);
    const script = writeScript(world, demoModelScript.turns);
    const { code, report } = await runScripted(world, repo.dir, script);
    const events = eventsOf(report.log.path);
    const charges = completionCharges(events);
    const outputs = demoModelScript.turns.map((turn) => mockTokens(turn.content));
    expect({ code, verdict: report.verdict, budgets: budgetsOf(events) }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
      budgets: { attempts: 2, wallMs: 600_000 * 5 },
    });
    expect(charges).toEqual(
      charges.map((charge, index) => ({
        tokens: charge.tokens,
        costMicros: expectedMicros(charge.tokens - (outputs[index] ?? 0), outputs[index] ?? 0, inputPrice, outputPrice),
      })),
    );
    expect(charges).toHaveLength(demoModelScript.turns.length);
    expect(charges.every((charge) => charge.costMicros > 0)).toBe(true);
  });

  test('a person reads which budget ended the run and which flag raises it', async () => {
    const { world } = pricedWorld();
    const repo = makeRepo(world, demoRepoFiles);
    const script = writeScript(world, [firstTurn]);
    const result = await run(world, repo.dir, [
      '--verify',
      demoVerifyCommand,
      '--model',
      'mock:scripted',
      '--script',
      script,
      '--max-cost',
      '0.000001',
    ]);
    const [log] = logsOf(world);
    const [charge] = completionCharges(eventsOf(log ?? ''));
    const dollars = `0.${String(charge?.costMicros ?? 0).padStart(6, '0')}`;
    expect({ code: result.code, verdicts: verdictLines(result.stdout).map((line) => line.split('  ')[0]) }).toEqual({
      code: Exit.rejected,
      verdicts: ['BUDGET EXHAUSTED'],
    });
    expect(result.stdout).toContain(
      `\nbudget: the model cost $${dollars} at the configured pricing, over the task's $0.000001 (raise it with --max-cost)\n`,
    );
  });
});

describe('--max-tokens', () => {
  test('ends the task budget-exhausted with tokensExceeded; without pricing, cost stays 0', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, demoRepoFiles);
    const script = writeScript(world, [firstTurn, firstTurn]);
    const { code, report } = await runScripted(world, repo.dir, script, ['--max-tokens', '100']);
    const events = eventsOf(report.log.path);
    const charges = completionCharges(events);
    const tokens = charges[0]?.tokens ?? 0;
    expect({
      code,
      verdict: report.verdict,
      reason: report.reason,
      budget: report.budget,
      budgets: budgetsOf(events),
      charges,
    }).toEqual({
      code: Exit.rejected,
      verdict: 'budget-exhausted',
      reason: `tokensExceeded: ${tokens} of 100 tokens`,
      budget: { code: 'tokensExceeded', used: tokens, limit: 100 },
      budgets: { attempts: 2, wallMs: 600_000 * 5, tokens: 100 },
      charges: [{ tokens, costMicros: 0 }],
    });
    expect(tokens).toBeGreaterThan(100);
  });

  test('a person reads the token budget line', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, demoRepoFiles);
    const script = writeScript(world, [firstTurn]);
    const result = await run(world, repo.dir, [
      '--verify',
      demoVerifyCommand,
      '--model',
      'mock:scripted',
      '--script',
      script,
      '--max-tokens',
      '50',
    ]);
    const [log] = logsOf(world);
    const [charge] = completionCharges(eventsOf(log ?? ''));
    expect(result.code).toBe(Exit.rejected);
    expect(result.stdout).toContain(
      `\nbudget: the model used ${charge?.tokens ?? 0} tokens, over the task's 50 (raise it with --max-tokens)\n`,
    );
  });
});

describe('usage errors: exit 2, one line, nothing run', () => {
  const usage = (message: string): string => `crustcore: ${message}. Run 'crustcore help run'.\n`;
  const needsModel = '--max-tokens and --max-cost need --model: only a model spends tokens and cost';
  const costShape = (got: string): string =>
    `--max-cost must be an amount of dollars above 0 and at most 100000, with at most 6 decimals (e.g. 0.50), got '${got}'`;
  const tokensShape = (got: string): string => `--max-tokens must be a whole number from 1 to 1000000000, got '${got}'`;

  // The flags are checked before the repository is looked at, so the world's root (no repository) serves.
  async function expectUsage(world: World, args: readonly string[], message: string): Promise<void> {
    const result = await cli(world, ['run', '--verify', 'true', ...args]);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: Exit.usage,
      stdout: '',
      stderr: usage(message),
    });
  }

  test('a cap without --model: a patch, a worker or the working tree', async () => {
    const world = makeWorld();
    await expectUsage(world, ['--patch', 'change.diff', '--max-cost', '1'], needsModel);
    await expectUsage(world, ['--worker', 'true', '--max-tokens', '1000'], needsModel);
    await expectUsage(world, ['--max-tokens', '1000'], needsModel);
    expect(logsOf(world)).toEqual([]);
  });

  test('malformed, negative, zero, too precise or absurd amounts', async () => {
    const world = makeWorld();
    const model = ['--model', 'mock:scripted', '--script', 'script.json'];
    for (const bad of ['-1', 'abc', '0', '0.0000001', '1e3', '$5', '0x10', '100000.000001', '1000000', ' 1', '.5']) {
      await expectUsage(world, [...model, `--max-cost=${bad}`], costShape(bad));
    }
    for (const bad of ['0', '-5', '1.5', '1e6', 'ten', '1000000001']) {
      await expectUsage(world, [...model, `--max-tokens=${bad}`], tokensShape(bad));
    }
    expect(logsOf(world)).toEqual([]);
  });

  test('--max-cost fails closed for a provider without pricing, naming the config key and file', async () => {
    const world = makeWorld();
    const model = ['--model', 'mock:scripted', '--script', 'script.json', '--max-cost', '0.50'];
    const defaultPath = join(world.home, '.config', 'crustcore', 'config.json');
    const unpriced = (path: string): string =>
      `--max-cost needs the prices of provider 'mock' to measure cost; set providers.mock.pricing (inputMicrosPerMillionTokens, outputMicrosPerMillionTokens) in ${path}`;
    await expectUsage(world, model, unpriced(defaultPath));
    const config = writeConfig(world, { mock: { kind: 'mock' } });
    world.env['CRUSTCORE_CONFIG'] = config;
    await expectUsage(world, model, unpriced(config));
    expect(logsOf(world)).toEqual([]);
  });

  test('--json reports the usage error as one JSON line', async () => {
    const world = makeWorld();
    const result = await cli(world, ['run', '--json', '--verify', 'true', '--max-cost', '1']);
    expect({ code: result.code, json: parseJson(result), stderr: result.stderr }).toEqual({
      code: Exit.usage,
      json: { error: { code: 'usage', message: needsModel } },
      stderr: usage(needsModel),
    });
  });
});

describe('--max-cost is read from the decimal text, never through a float', () => {
  test.each([
    ['0.50', 500_000],
    ['0.1', 100_000],
    ['0.29', 290_000],
    ['1', 1_000_000],
    ['0.000001', 1],
    ['100000', 100_000_000_000],
    ['007.25', 7_250_000],
  ])('%s is %i micros', (text, micros) => {
    expect(parseCostMicros(text)).toBe(micros);
  });

  test('every amount with up to six decimals converts exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 999_999 }), (whole, micros) => {
        fc.pre(whole > 0 || micros > 0);
        const decimals = String(micros).padStart(6, '0').replace(/0+$/u, '');
        const text = decimals === '' ? String(whole) : `${whole}.${decimals}`;
        expect(parseCostMicros(text)).toBe(whole * 1_000_000 + micros);
      }),
    );
  });
});
