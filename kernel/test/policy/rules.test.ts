/**
 * The rules file: validation errors that name their JSON path, the decision order (priority,
 * then deny over ask over allow, default deny), and the property that no JSON input makes the
 * parser throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, parseRules, validateRules } from '../../src/policy/index.js';
import type { RuleDecision, RuleRequest, RuleSet } from '../../src/policy/index.js';

function ruleSet(rules: readonly unknown[]): RuleSet {
  const parsed = validateRules({ version: 1, rules });
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.ruleSet;
}

describe('parseRules', () => {
  it('accepts a well-formed file', () => {
    const parsed = parseRules(
      JSON.stringify({
        $schema: 'https://example.invalid/rules.schema.json',
        version: 1,
        rules: [
          {
            effect: 'allow',
            priority: 5,
            actions: ['push'],
            branches: ['crustcore/**'],
            paths: ['src/**'],
            reason: 'ok',
          },
        ],
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(
      parsed.ruleSet.rules.map((rule) => ({
        ...rule,
        branches: rule.branches?.map((glob) => glob.pattern),
        paths: rule.paths?.map((glob) => glob.pattern),
      })),
    ).toEqual([
      { effect: 'allow', priority: 5, actions: ['push'], branches: ['crustcore/**'], paths: ['src/**'], reason: 'ok' },
    ]);
  });

  it('names the JSON path of every problem', () => {
    const parsed = parseRules(
      JSON.stringify({
        version: 1,
        rules: [
          { effect: 'allow' },
          { effect: 'deny', priority: 1.5 },
          { effect: 'maybe' },
          { effect: 'ask', actions: ['delete'], colour: 'red' },
          { effect: 'deny', paths: ['a**'], branches: [] },
          { priority: 1 },
          'allow',
        ],
        extra: true,
      }),
    );
    expect(parsed).toEqual({
      ok: false,
      errors: [
        'extra: unknown key',
        'rules[1].priority: expected an integer from -1000000 to 1000000, got 1.5',
        'rules[2].effect: expected "allow" | "deny" | "ask", got "maybe"',
        'rules[3].colour: unknown key',
        'rules[3].actions[0]: expected "read" | "runWorker" | "runVerify" | "writeNewBranch" | "integrateExistingBranch" | "push" | "openPullRequest" | "exposeSecretToSidecar", got "delete"',
        'rules[4].branches: expected 1 to 64 items, got 0',
        'rules[4].paths[0]: invalid glob "a**": ** must be a whole path segment (write a/**/b or **/*.ts) in "a**"',
        'rules[5].effect: required key is missing',
        'rules[6]: expected an object, got "allow"',
      ],
    });
  });

  it('reports bad actions, versions and non-JSON', () => {
    expect(parseRules('{"version": 2, "rules": [{"effect": "ask", "actions": ["delete"]}]}')).toEqual({
      ok: false,
      errors: [
        'version: expected 1, got 2',
        'rules[0].actions[0]: expected "read" | "runWorker" | "runVerify" | "writeNewBranch" | "integrateExistingBranch" | "push" | "openPullRequest" | "exposeSecretToSidecar", got "delete"',
      ],
    });
    const notJson = parseRules('{');
    expect(notJson.ok).toBe(false);
    expect(notJson.ok ? [] : notJson.errors[0]).toMatch(/^\(root\): not JSON/);
    expect(parseRules('[]')).toEqual({ ok: false, errors: ['(root): expected an object, got an array'] });
  });

  it('does not let __proto__ or constructor keys through', () => {
    expect(parseRules('{"version":1,"rules":[],"__proto__":{"x":1}}')).toEqual({
      ok: false,
      errors: ['__proto__: unknown key'],
    });
  });
});

describe('evaluate', () => {
  const decide = (rules: readonly unknown[], request: RuleRequest): RuleDecision => evaluate(ruleSet(rules), request);

  it('denies when no rule matches, including an empty allow-list', () => {
    expect(decide([], { action: 'read' })).toEqual({ effect: 'deny', ruleIndex: null, reason: 'no rule allows read' });
    expect(decide([{ effect: 'allow', actions: ['read'] }], { action: 'push', branch: 'main' })).toEqual({
      effect: 'deny',
      ruleIndex: null,
      reason: 'no rule allows push',
    });
  });

  it('lets the highest priority win', () => {
    const rules = [
      { effect: 'deny', priority: 0, actions: ['push'] },
      { effect: 'allow', priority: 10, actions: ['push'], branches: ['crustcore/*'], reason: 'agent branches' },
    ];
    expect(decide(rules, { action: 'push', branch: 'crustcore/fix' })).toEqual({
      effect: 'allow',
      ruleIndex: 1,
      reason: 'rules[1] (allow, priority 10) decided push: agent branches',
    });
    expect(decide(rules, { action: 'push', branch: 'main' })).toEqual({
      effect: 'deny',
      ruleIndex: 0,
      reason: 'rules[0] (deny, priority 0) decided push',
    });
  });

  it('lets deny win a tie, and ask beat allow', () => {
    const allowAskDeny = [{ effect: 'allow' }, { effect: 'ask' }, { effect: 'deny' }, { effect: 'allow' }];
    expect(decide(allowAskDeny, { action: 'read' }).ruleIndex).toBe(2);
    expect(decide([{ effect: 'allow' }, { effect: 'ask' }], { action: 'read' })).toEqual({
      effect: 'ask',
      ruleIndex: 1,
      reason: 'rules[1] (ask, priority 0) decided read',
    });
  });

  it('decides each path and returns the strictest answer', () => {
    const rules = [
      { effect: 'allow', actions: ['writeNewBranch'] },
      { effect: 'ask', priority: 5, paths: ['package.json', '**/*.lock'] },
      { effect: 'deny', priority: 5, paths: ['.github/**'], reason: 'CI workflows are protected' },
    ];
    expect(decide(rules, { action: 'writeNewBranch', paths: ['src/a.ts'] }).effect).toBe('allow');
    expect(decide(rules, { action: 'writeNewBranch', paths: ['src/a.ts', 'package.json'] }).effect).toBe('ask');
    expect(
      decide(rules, { action: 'writeNewBranch', paths: ['package.json', '.github/workflows/ci.yml', 'x'] }),
    ).toEqual({
      effect: 'deny',
      ruleIndex: 2,
      reason:
        'rules[2] (deny, priority 5) decided writeNewBranch on .github/workflows/ci.yml: CI workflows are protected',
    });
  });

  it('does not apply a branch or path rule to a request without that field', () => {
    expect(decide([{ effect: 'allow', branches: ['**'] }], { action: 'read' }).effect).toBe('deny');
    expect(decide([{ effect: 'allow', paths: ['**'] }], { action: 'read' }).effect).toBe('deny');
  });

  it('denies when a glob cannot be decided within its limits', () => {
    expect(decide([{ effect: 'allow', paths: ['**'] }], { action: 'read', paths: ['a'.repeat(5000)] })).toEqual({
      effect: 'deny',
      ruleIndex: 0,
      reason: `rules[0] could not be decided for "${'a'.repeat(40)}…" within the glob limits`,
    });
  });
});

describe('rules property', () => {
  it('never throws on arbitrary JSON, whole or as a mutated rules file', () => {
    const ruleish = fc.record(
      {
        effect: fc.oneof(fc.constantFrom('allow', 'deny', 'ask'), fc.jsonValue()),
        priority: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
        actions: fc.oneof(fc.array(fc.constantFrom('read', 'push', 'nope')), fc.jsonValue()),
        branches: fc.oneof(fc.array(fc.string({ maxLength: 12 })), fc.jsonValue()),
        paths: fc.oneof(fc.array(fc.string({ maxLength: 12 })), fc.jsonValue()),
        reason: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const fileish = fc.oneof(
      fc.jsonValue(),
      fc.record({
        version: fc.oneof(fc.constant(1), fc.jsonValue()),
        rules: fc.array(fc.oneof(ruleish, fc.jsonValue())),
      }),
    );
    fc.assert(
      fc.property(fileish, fc.string(), (value, junk) => {
        const text = JSON.stringify(value);
        const results = [
          parseRules(text),
          parseRules(junk),
          parseRules(text.slice(0, junk.length)),
          validateRules(value),
        ];
        for (const result of results) {
          if (result.ok) {
            expect(() => evaluate(result.ruleSet, { action: 'push', branch: 'main', paths: ['a/b'] })).not.toThrow();
          } else {
            expect(result.errors.length).toBeGreaterThan(0);
            for (const line of result.errors) expect(line).toMatch(/^\S.*: .+/);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
