/**
 * The policy gate: the user's config turned into the policy one command applies. Loading reads
 * real files in a temp dir and names the file and JSON path of the first problem; the decisions
 * (`admitRun`, `startRun`, `checkBranchDelivery`, `gateIntegration`) are compared as whole
 * objects, with the user's terminal played by a `Confirm` function that records its questions.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { DerivedPatch } from '../../src/attempt/index.js';
import { defaultConfig, type Config } from '../../src/host/config.js';
import type { Confirm } from '../../src/host/integrate.js';
import {
  admitRun,
  checkBranchDelivery,
  defaultPolicy,
  describeDecision,
  gateIntegration,
  loadPolicy,
  policyOf,
  startRun,
  type Policy,
  type RunPlan,
  type RunPolicy,
} from '../../src/host/policy-gate.js';
import { parseRules, type RuleSet } from '../../src/policy/index.js';
import { judgeIntegrity } from '../../src/verify/gate.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'policy-gate-'));
  return dir;
}

const rulesText = JSON.stringify({
  version: 1,
  rules: [
    { effect: 'allow', actions: ['runWorker', 'writeNewBranch', 'integrateExistingBranch'] },
    {
      effect: 'deny',
      actions: ['writeNewBranch'],
      branches: ['release/*'],
      reason: 'releases are cut by CI',
    },
    { effect: 'ask', actions: ['writeNewBranch', 'integrateExistingBranch'], paths: ['.github/**'] },
    { effect: 'deny', actions: ['integrateExistingBranch'], branches: ['main'], paths: ['secrets/**'], priority: 5 },
    { effect: 'ask', actions: ['writeNewBranch'], branches: ['review/*'], reason: 'review branches are shared' },
  ],
});

function ruleSetOf(text: string): RuleSet {
  const parsed = parseRules(text);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.ruleSet;
}

function policy(overrides: Partial<Policy> = {}): Policy {
  return { ...defaultPolicy, ...overrides };
}

function withRules(overrides: Partial<Policy> = {}): Policy {
  return policy({ rules: { path: '/etc/rules.json', ruleSet: ruleSetOf(rulesText) }, ...overrides });
}

function config(overrides: Partial<Config>): Config {
  return { ...defaultConfig, path: '/home/u/.config/crustcore/config.json', ...overrides };
}

/** A terminal that answers `answer` and records every question. */
function terminal(answer: boolean | null): { confirm: Confirm; questions: string[] } {
  const questions: string[] = [];
  return {
    questions,
    confirm: (question) => {
      questions.push(question);
      return Promise.resolve(answer);
    },
  };
}

function runPolicy(
  p: Policy,
  answer: boolean | null,
  yes = false,
): RunPolicy & { questions: string[]; shown: string[] } {
  const { confirm, questions } = terminal(answer);
  const shown: string[] = [];
  return { policy: p, yes, confirm, show: (text) => shown.push(text), questions, shown };
}

const workerPlan: RunPlan = {
  repo: '/srv/repo',
  baseCommit: 'c'.repeat(40),
  candidate: 'worker',
  candidateText: "the worker 'fix-it', run in the sandbox",
  verifyCommand: 'npm test',
  attemptsMax: 2,
  grants: ['network', 'env TOKEN'],
  branch: null,
};

describe('policyOf and loadPolicy', () => {
  test('the default config is the default policy', () => {
    expect(policyOf(defaultConfig)).toEqual({ ok: true, policy: defaultPolicy });
    expect(loadPolicy({ XDG_CONFIG_HOME: tempDir() })).toEqual({ ok: true, policy: defaultPolicy });
  });

  test('a config with a rules file, protected-path globs and a review mode is read whole', () => {
    const root = tempDir();
    const rulesFile = join(root, 'rules.json');
    writeFileSync(rulesFile, rulesText);
    mkdirSync(join(root, 'crustcore'));
    writeFileSync(
      join(root, 'crustcore', 'config.json'),
      JSON.stringify({
        reviewMode: 'approve-before-execute',
        rulesFile,
        protectedPaths: { allow: ['docs/**'], extra: [{ rule: 'migrations', globs: ['db/migrations/**'] }] },
      }),
    );
    expect(loadPolicy({ XDG_CONFIG_HOME: root })).toEqual({
      ok: true,
      policy: {
        reviewMode: 'approve-before-execute',
        protectedAllow: ['docs/**'],
        protectedExtra: [{ rule: 'migrations', globs: ['db/migrations/**'] }],
        rules: { path: rulesFile, ruleSet: ruleSetOf(rulesText) },
      },
    });
  });

  test('a malformed rules file is one line naming the file and the JSON path', () => {
    const rulesFile = join(tempDir(), 'rules.json');
    writeFileSync(rulesFile, JSON.stringify({ version: 1, rules: [{ effect: 'maybe' }, { effect: 'allow', x: 1 }] }));
    expect(policyOf(config({ rulesFile }))).toEqual({
      ok: false,
      message: `rules file ${rulesFile}: rules[0].effect: expected "allow" | "deny" | "ask", got "maybe" (and 1 more problem)`,
    });
    writeFileSync(rulesFile, '{');
    expect(policyOf(config({ rulesFile }))).toEqual({
      ok: false,
      message: `rules file ${rulesFile}: (root): not JSON (Expected property name or '}' in JSON at position 1)`,
    });
  });

  test('a missing rules file or a directory is refused', () => {
    const root = tempDir();
    const missing = join(root, 'nope.json');
    expect(policyOf(config({ rulesFile: missing }))).toEqual({
      ok: false,
      message: `rules file ${missing} cannot be read (ENOENT); create it or fix rulesFile in the config`,
    });
    expect(policyOf(config({ rulesFile: root }))).toEqual({
      ok: false,
      message: `rules file ${root} is not a regular file; fix rulesFile in the config`,
    });
  });

  test('a protected-path glob the matcher could never match is refused with its JSON path', () => {
    expect(
      policyOf(config({ protectedPaths: { allow: [], extra: [{ rule: 'x', globs: ['ok/**', 'db/{a,b'] }] } })),
    ).toEqual({
      ok: false,
      message:
        'config /home/u/.config/crustcore/config.json: protectedPaths.extra[0].globs[1]: the glob "db/{a,b" is invalid: unbalanced braces ({ without }); fix it',
    });
    // The rules-file glob syntax applies: a trailing / names no file, ** belongs in its own segment.
    expect(policyOf(config({ protectedPaths: { allow: ['docs/'], extra: [] } }))).toEqual({
      ok: false,
      message:
        'config /home/u/.config/crustcore/config.json: protectedPaths.allow[0]: the glob "docs/" is invalid: "docs/" has an empty segment (leading, trailing or double /); write dir/** for a directory; fix it',
    });
    expect(policyOf(config({ protectedPaths: { allow: ['src**'], extra: [] } }))).toEqual({
      ok: false,
      message:
        'config /home/u/.config/crustcore/config.json: protectedPaths.allow[0]: the glob "src**" is invalid: ** must be a whole path segment (write a/**/b or **/*.ts) in "src**"; fix it',
    });
    expect(policyOf(config({ protectedPaths: { allow: ['x'.repeat(1025)], extra: [] } }))).toEqual({
      ok: false,
      message:
        'config /home/u/.config/crustcore/config.json: protectedPaths.allow[0]: the glob is longer than 1024 characters; shorten it',
    });
  });

  test('a config error is returned as its line, not thrown', () => {
    const root = tempDir();
    mkdirSync(join(root, 'crustcore'));
    writeFileSync(join(root, 'crustcore', 'config.json'), JSON.stringify({ rulesFile: 'relative.json' }));
    expect(loadPolicy({ XDG_CONFIG_HOME: root })).toEqual({
      ok: false,
      message: `config ${join(root, 'crustcore', 'config.json')}: rulesFile: expected an absolute path, got "relative.json"`,
    });
  });
});

describe('admitRun', () => {
  test('without rules, the review mode alone decides whether the user confirms', () => {
    const cases: [Policy['reviewMode'], RunPlan['candidate'], readonly string[]][] = [
      ['auto', 'worker', []],
      ['approve-before-merge', 'model', []],
      ['approve-before-execute', 'worker', ['review mode approve-before-execute asks before a worker or a model runs']],
      ['approve-before-execute', 'model', ['review mode approve-before-execute asks before a worker or a model runs']],
      ['approve-before-execute', 'patch', []],
      ['approve-every-step', 'workingTree', ['review mode approve-every-step asks before every step']],
      ['approve-every-step', 'worker', ['review mode approve-every-step asks before a worker or a model runs']],
    ];
    for (const [reviewMode, candidate, confirmBecause] of cases) {
      expect({
        reviewMode,
        candidate,
        admission: admitRun(policy({ reviewMode }), { candidate, branch: null }),
      }).toEqual({ reviewMode, candidate, admission: { verdict: 'admitted', decisions: [], confirmBecause } });
    }
  });

  test('rules: runWorker and the branch are decided up front; allow is kept for the log', () => {
    expect(admitRun(withRules(), { candidate: 'worker', branch: 'feature/x' })).toEqual({
      verdict: 'admitted',
      decisions: [
        {
          request: { action: 'runWorker' },
          decision: { effect: 'allow', ruleIndex: 0, reason: 'rules[0] (allow, priority 0) decided runWorker' },
          line: 'policy: rule 0 allows runWorker: rules[0] (allow, priority 0) decided runWorker',
        },
        {
          request: { action: 'writeNewBranch', branch: 'feature/x' },
          decision: { effect: 'allow', ruleIndex: 0, reason: 'rules[0] (allow, priority 0) decided writeNewBranch' },
          line: "policy: rule 0 allows writeNewBranch on branch 'feature/x': rules[0] (allow, priority 0) decided writeNewBranch",
        },
      ],
      confirmBecause: [],
    });
  });

  test('a deny refuses with the rule index, the reason and the file', () => {
    expect(admitRun(withRules(), { candidate: 'patch', branch: 'release/1.0' })).toEqual({
      verdict: 'refused',
      message:
        "policy: rule 1 denies writeNewBranch on branch 'release/1.0': rules[1] (deny, priority 0) decided writeNewBranch: releases are cut by CI (rules file /etc/rules.json)",
    });
  });

  test('no matching rule denies (an allow-list)', () => {
    const p = policy({ rules: { path: '/r.json', ruleSet: ruleSetOf('{"version":1,"rules":[]}') } });
    expect(admitRun(p, { candidate: 'model', branch: null })).toEqual({
      verdict: 'refused',
      message: 'policy: the rules file denies runWorker: no rule allows runWorker (rules file /r.json)',
    });
  });

  test('an ask needs the confirmation, after the review mode', () => {
    const line =
      "policy: rule 4 asks for writeNewBranch on branch 'review/a': rules[4] (ask, priority 0) decided writeNewBranch: review branches are shared";
    expect(
      admitRun(withRules({ reviewMode: 'approve-before-execute' }), { candidate: 'worker', branch: 'review/a' }),
    ).toEqual({
      verdict: 'admitted',
      decisions: [
        {
          request: { action: 'runWorker' },
          decision: { effect: 'allow', ruleIndex: 0, reason: 'rules[0] (allow, priority 0) decided runWorker' },
          line: 'policy: rule 0 allows runWorker: rules[0] (allow, priority 0) decided runWorker',
        },
        {
          request: { action: 'writeNewBranch', branch: 'review/a' },
          decision: {
            effect: 'ask',
            ruleIndex: 4,
            reason: 'rules[4] (ask, priority 0) decided writeNewBranch: review branches are shared',
          },
          line,
        },
      ],
      confirmBecause: ['review mode approve-before-execute asks before a worker or a model runs', line],
    });
  });
});

describe('startRun', () => {
  test('nothing to confirm: the allow decisions are the risks; the user is not asked', async () => {
    const gate = runPolicy(withRules({ reviewMode: 'auto' }), null);
    expect(await startRun(gate, workerPlan)).toEqual({
      ok: true,
      risks: ['policy: rule 0 allows runWorker: rules[0] (allow, priority 0) decided runWorker'],
    });
    expect({ questions: gate.questions, shown: gate.shown }).toEqual({ questions: [], shown: [] });
  });

  test('approve-before-execute: the plan is shown and a terminal yes is recorded', async () => {
    const gate = runPolicy(policy({ reviewMode: 'approve-before-execute' }), true);
    expect(await startRun(gate, { ...workerPlan, branch: 'fix/x' })).toEqual({
      ok: true,
      risks: ['confirmed before execute (cli-tty)'],
    });
    expect({ questions: gate.questions, shown: gate.shown }).toEqual({
      questions: ['run this plan?'],
      shown: [
        `plan: take the worker 'fix-it', run in the sandbox, up to 2 attempt(s) on a fresh tree of /srv/repo at cccccccccccc, verify it with 'npm test' in the sandbox (no network, no secrets); grants to the untrusted code: network, env TOKEN; on a pass, store the verified patch and commit it onto new branch 'fix/x'. Your confirmation is needed: review mode approve-before-execute asks before a worker or a model runs.`,
      ],
    });
  });

  test('--yes confirms without asking, recorded as cli-yes', async () => {
    const gate = runPolicy(policy({ reviewMode: 'approve-every-step' }), null, true);
    expect(await startRun(gate, { ...workerPlan, candidate: 'patch' })).toEqual({
      ok: true,
      risks: ['confirmed before execute (cli-yes)'],
    });
    expect(gate.questions).toEqual([]);
  });

  test('no terminal and no --yes is a usage error; a no is a refusal', async () => {
    const p = policy({ reviewMode: 'approve-before-execute' });
    expect(await startRun(runPolicy(p, null), workerPlan)).toEqual({
      ok: false,
      code: 'usage',
      message:
        'this run needs your confirmation (review mode approve-before-execute asks before a worker or a model runs) and there is no terminal to ask on; pass --yes to confirm it from a script (nothing was run)',
    });
    expect(await startRun(runPolicy(p, false), workerPlan)).toEqual({
      ok: false,
      code: 'refused',
      message: 'not confirmed; nothing was run',
    });
  });

  test('a deny refuses before anything is shown or asked, even with --yes', async () => {
    const gate = runPolicy(withRules({ reviewMode: 'approve-every-step' }), true, true);
    expect(await startRun(gate, { ...workerPlan, branch: 'release/2' })).toEqual({
      ok: false,
      code: 'refused',
      message:
        "refused: policy: rule 1 denies writeNewBranch on branch 'release/2': rules[1] (deny, priority 0) decided writeNewBranch: releases are cut by CI (rules file /etc/rules.json); nothing was run",
    });
    expect({ questions: gate.questions, shown: gate.shown }).toEqual({ questions: [], shown: [] });
  });
});

describe('checkBranchDelivery', () => {
  test('without a rules file the branch is written', async () => {
    expect(await checkBranchDelivery(runPolicy(policy(), null), 'x', ['a.js'])).toEqual({ ok: true, lines: [] });
  });

  test('the paths are decided per path; the strictest wins', async () => {
    expect(await checkBranchDelivery(runPolicy(withRules(), null), 'feature/x', ['src/a.js'])).toEqual({
      ok: true,
      lines: [
        "policy: rule 0 allows writeNewBranch on branch 'feature/x' for 1 path: rules[0] (allow, priority 0) decided writeNewBranch on src/a.js",
      ],
    });
    const line =
      "policy: rule 2 asks for writeNewBranch on branch 'feature/x' for 2 paths: rules[2] (ask, priority 0) decided writeNewBranch on .github/workflows/ci.yml";
    const asked = runPolicy(withRules(), null);
    expect(await checkBranchDelivery(asked, 'feature/x', ['src/a.js', '.github/workflows/ci.yml'])).toEqual({
      ok: false,
      reason: `${line}; not confirmed: no terminal to ask on (pass --yes)`,
    });
    expect(asked.questions).toEqual([`${line}. Write branch 'feature/x'?`]);
    expect(
      await checkBranchDelivery(runPolicy(withRules(), null, true), 'feature/x', [
        'src/a.js',
        '.github/workflows/ci.yml',
      ]),
    ).toEqual({ ok: true, lines: [line, 'confirmed before delivery (cli-yes)'] });
    expect(await checkBranchDelivery(runPolicy(withRules(), false), 'feature/x', ['.github/workflows/ci.yml'])).toEqual(
      {
        ok: false,
        reason:
          "policy: rule 2 asks for writeNewBranch on branch 'feature/x' for 1 path: rules[2] (ask, priority 0) decided writeNewBranch on .github/workflows/ci.yml; not confirmed",
      },
    );
  });
});

describe('gateIntegration', () => {
  test('without rules, the review mode decides', () => {
    expect(gateIntegration(policy({ reviewMode: 'auto' }), 'main', ['a.js'])).toEqual({
      verdict: 'proceed',
      needsApproval: false,
      lines: [],
    });
    expect(gateIntegration(policy(), 'main', ['a.js'])).toEqual({ verdict: 'proceed', needsApproval: true, lines: [] });
  });

  test('allow follows the mode; ask forces an approval under auto; deny refuses', () => {
    expect(gateIntegration(withRules({ reviewMode: 'auto' }), 'main', ['src/a.js'])).toEqual({
      verdict: 'proceed',
      needsApproval: false,
      lines: [
        "policy: rule 0 allows integrateExistingBranch on branch 'main' for 1 path: rules[0] (allow, priority 0) decided integrateExistingBranch on src/a.js",
      ],
    });
    expect(gateIntegration(withRules({ reviewMode: 'auto' }), 'dev', ['.github/x.yml'])).toEqual({
      verdict: 'proceed',
      needsApproval: true,
      lines: [
        "policy: rule 2 asks for integrateExistingBranch on branch 'dev' for 1 path: rules[2] (ask, priority 0) decided integrateExistingBranch on .github/x.yml",
      ],
    });
    expect(gateIntegration(withRules({ reviewMode: 'auto' }), 'main', ['src/a.js', 'secrets/k'])).toEqual({
      verdict: 'refused',
      message:
        "policy: rule 3 denies integrateExistingBranch on branch 'main' for 2 paths: rules[3] (deny, priority 5) decided integrateExistingBranch on secrets/k (rules file /etc/rules.json); nothing was changed",
    });
  });
});

describe('describeDecision', () => {
  test('a line never exceeds what an event may hold', () => {
    const line = describeDecision(
      { action: 'writeNewBranch', branch: 'b' },
      { effect: 'allow', ruleIndex: 0, reason: 'r'.repeat(5000) },
    );
    expect({ length: line.length, end: line.slice(-2) }).toEqual({ length: 1024, end: 'r…' });
  });
});

describe('judgeIntegrity with the config rules', () => {
  const patch = {
    files: [
      { path: 'db/migrations/001.sql', status: 'added', binary: false },
      { path: 'src/a.js', status: 'modified', binary: false },
    ],
  } as unknown as DerivedPatch;
  const read = (): undefined => undefined;
  const extraRules = [{ rule: 'migrations', globs: ['db/migrations/**'] }];

  test('an extra rule protects beside the defaults', () => {
    expect(judgeIntegrity(patch, { allow: [], read })).toEqual({
      integrity: { verdict: 'clean' },
      acceptedProtected: [],
    });
    expect(judgeIntegrity(patch, { allow: [], read, extraRules })).toEqual({
      integrity: { verdict: 'protected', violations: [{ path: 'db/migrations/001.sql', rule: 'migrations' }] },
      acceptedProtected: [],
    });
  });

  test('an allow glob accepts it and keeps it in the integrity record', () => {
    expect(judgeIntegrity(patch, { allow: ['db/**'], read, extraRules })).toEqual({
      integrity: { verdict: 'clean', accepted: [{ path: 'db/migrations/001.sql', rule: 'migrations' }] },
      acceptedProtected: [{ path: 'db/migrations/001.sql', rule: 'migrations' }],
    });
  });
});
