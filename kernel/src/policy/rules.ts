import { assertNever } from '../core/assert.js';
import type { ActionKind } from './action-class.js';
import { actionKinds } from './action-class.js';
import { describeValue } from './field-check.js';
import { Glob } from './glob.js';
import {
  childPath,
  JsonProblems,
  own,
  readArray,
  readChoice,
  readInteger,
  readObject,
  readText,
} from './json-reader.js';
import { PolicyLimits } from './limits.js';

/** What a rule decides. */
export type RuleEffect = 'allow' | 'deny' | 'ask';
/** Every {@link RuleEffect}, from least to most restrictive. */
export const ruleEffects: readonly RuleEffect[] = ['allow', 'ask', 'deny'];

/** One validated rule. A null matcher list means the rule applies whatever that field is. */
export type PolicyRule = {
  readonly effect: RuleEffect;
  /** Higher priorities are considered first. */
  readonly priority: number;
  readonly actions: readonly ActionKind[] | null;
  readonly branches: readonly Glob[] | null;
  readonly paths: readonly Glob[] | null;
  /** Why the rule exists, shown to the user when it decides. */
  readonly reason: string | null;
};

/** A validated rules file. */
export type RuleSet = { readonly rules: readonly PolicyRule[] };

/** The result of {@link parseRules} and {@link validateRules}. */
export type RulesParse =
  { readonly ok: true; readonly ruleSet: RuleSet } | { readonly ok: false; readonly errors: readonly string[] };

/** What a rule set is asked about. */
export type RuleRequest = {
  readonly action: ActionKind;
  readonly branch?: string;
  /** Repo-relative paths the action touches; each is decided on its own, the strictest answer wins. */
  readonly paths?: readonly string[];
};

/** The decision for a request; `ruleIndex` is null when no rule matched (default deny). */
export type RuleDecision = {
  readonly effect: RuleEffect;
  readonly ruleIndex: number | null;
  readonly reason: string;
};

/** The version of the rules file format this code reads. */
export const rulesFileVersion = 1;

const ruleKeys = { required: ['effect'], optional: ['priority', 'actions', 'branches', 'paths', 'reason'] } as const;

/**
 * Parses and validates the text of a rules file. Every unknown key and bad value is reported with
 * its JSON path. Never throws, whatever the input.
 */
export function parseRules(text: string): RulesParse {
  if (typeof text !== 'string') return { ok: false, errors: [`(root): expected text, got ${describeValue(text)}`] };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > PolicyLimits.rulesFileBytesMax) {
    return { ok: false, errors: [`(root): rules file is ${bytes} bytes, over ${PolicyLimits.rulesFileBytesMax}`] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, errors: [`(root): not JSON (${error instanceof Error ? error.message : 'parse error'})`] };
  }
  return validateRules(value);
}

/** Validates an already-parsed rules file (see {@link parseRules}). Never throws. */
export function validateRules(value: unknown): RulesParse {
  const problems = new JsonProblems(PolicyLimits.rulesErrorsMax);
  const file = readObject(value, '', problems, { required: ['version', 'rules'], optional: ['$schema'] });
  if (file === undefined) return { ok: false, errors: problems.lines() };
  if (own(file, 'version') !== rulesFileVersion) {
    problems.add('version', `expected ${rulesFileVersion}, got ${describeValue(own(file, 'version'))}`);
  }
  if (Object.hasOwn(file, '$schema')) readText(own(file, '$schema'), '$schema', problems, PolicyLimits.fieldCharsMax);
  const items = readArray(own(file, 'rules'), 'rules', problems, 0, PolicyLimits.rulesMax);
  const rules: PolicyRule[] = [];
  items?.forEach((item, index) => {
    const rule = readRule(item, childPath('rules', index), problems);
    if (rule !== undefined) rules.push(rule);
  });
  return problems.empty ? { ok: true, ruleSet: { rules } } : { ok: false, errors: problems.lines() };
}

function readRule(value: unknown, path: string, problems: JsonProblems): PolicyRule | undefined {
  const raw = readObject(value, path, problems, ruleKeys);
  if (raw === undefined) return undefined;
  const effect = readChoice(own(raw, 'effect'), childPath(path, 'effect'), problems, ['allow', 'deny', 'ask'] as const);
  const limit = PolicyLimits.rulePriorityAbsMax;
  const priority = Object.hasOwn(raw, 'priority')
    ? readInteger(own(raw, 'priority'), childPath(path, 'priority'), problems, -limit, limit)
    : 0;
  let actions: readonly ActionKind[] | null | undefined = null;
  if (Object.hasOwn(raw, 'actions')) {
    const actionsPath = childPath(path, 'actions');
    const list = readArray(own(raw, 'actions'), actionsPath, problems, 1, actionKinds.length);
    const read = list?.map((item, index) => readChoice(item, childPath(actionsPath, index), problems, actionKinds));
    actions = read?.every((kind) => kind !== undefined) === true ? read : undefined;
  }
  const branches = Object.hasOwn(raw, 'branches')
    ? readGlobs(own(raw, 'branches'), childPath(path, 'branches'), problems)
    : null;
  const paths = Object.hasOwn(raw, 'paths') ? readGlobs(own(raw, 'paths'), childPath(path, 'paths'), problems) : null;
  const reason = Object.hasOwn(raw, 'reason')
    ? readText(own(raw, 'reason'), childPath(path, 'reason'), problems, PolicyLimits.approvalSummaryTextCharsMax)
    : null;
  if (
    effect === undefined ||
    priority === undefined ||
    actions === undefined ||
    branches === undefined ||
    paths === undefined ||
    reason === undefined
  ) {
    return undefined;
  }
  return { effect, priority, actions, branches, paths, reason };
}

function readGlobs(value: unknown, path: string, problems: JsonProblems): readonly Glob[] | undefined {
  const list = readArray(value, path, problems, 1, PolicyLimits.ruleGlobsMax);
  if (list === undefined) return undefined;
  const globs: Glob[] = [];
  let ok = true;
  list.forEach((item, index) => {
    const itemPath = childPath(path, index);
    if (typeof item !== 'string') {
      problems.add(itemPath, `expected a glob string, got ${describeValue(item)}`);
      ok = false;
      return;
    }
    const compiled = Glob.compile(item);
    if (!compiled.ok) {
      problems.add(itemPath, `invalid glob ${describeValue(item)}: ${compiled.reason}`);
      ok = false;
      return;
    }
    globs.push(compiled.glob);
  });
  return ok ? globs : undefined;
}

/**
 * Decides a request. Among the rules that match, the highest priority wins; at equal priority
 * deny beats ask beats allow. No matching rule means deny, so an empty allow-list denies
 * everything. A request with several paths is decided per path and the strictest decision wins.
 * A glob that cannot be decided within its limits denies.
 */
export function evaluate(ruleSet: RuleSet, request: RuleRequest): RuleDecision {
  const paths = request.paths ?? [];
  if (paths.length > PolicyLimits.requestPathsMax) {
    return { effect: 'deny', ruleIndex: null, reason: `request names more than ${PolicyLimits.requestPathsMax} paths` };
  }
  if (paths.length === 0) return decide(ruleSet, request.action, request.branch, undefined);
  let strictest: RuleDecision | null = null;
  for (const path of paths) {
    const decision = decide(ruleSet, request.action, request.branch, path);
    if (strictest === null || restrictiveness(decision.effect) > restrictiveness(strictest.effect))
      strictest = decision;
    if (strictest.effect === 'deny') break;
  }
  return strictest as RuleDecision;
}

type Applies = 'yes' | 'no' | 'undecidable';

function decide(
  ruleSet: RuleSet,
  action: ActionKind,
  branch: string | undefined,
  path: string | undefined,
): RuleDecision {
  let best: { readonly rule: PolicyRule; readonly index: number } | null = null;
  for (const [index, rule] of ruleSet.rules.entries()) {
    const applies = ruleApplies(rule, action, branch, path);
    if (applies === 'undecidable') {
      return {
        effect: 'deny',
        ruleIndex: index,
        reason: `rules[${index}] could not be decided for ${describeValue(path ?? branch)} within the glob limits`,
      };
    }
    if (applies === 'no') continue;
    if (
      best === null ||
      rule.priority > best.rule.priority ||
      (rule.priority === best.rule.priority && restrictiveness(rule.effect) > restrictiveness(best.rule.effect))
    ) {
      best = { rule, index };
    }
  }
  const subject = path === undefined ? action : `${action} on ${path}`;
  if (best === null) return { effect: 'deny', ruleIndex: null, reason: `no rule allows ${subject}` };
  const { rule, index } = best;
  const why = rule.reason === null ? '' : `: ${rule.reason}`;
  return {
    effect: rule.effect,
    ruleIndex: index,
    reason: `rules[${index}] (${rule.effect}, priority ${rule.priority}) decided ${subject}${why}`,
  };
}

function ruleApplies(
  rule: PolicyRule,
  action: ActionKind,
  branch: string | undefined,
  path: string | undefined,
): Applies {
  if (rule.actions !== null && !rule.actions.includes(action)) return 'no';
  const branchApplies = anyGlobMatches(rule.branches, branch);
  if (branchApplies !== 'yes') return branchApplies;
  return anyGlobMatches(rule.paths, path);
}

function anyGlobMatches(globs: readonly Glob[] | null, subject: string | undefined): Applies {
  if (globs === null) return 'yes';
  if (subject === undefined) return 'no';
  for (const glob of globs) {
    const { outcome } = glob.match(subject);
    switch (outcome) {
      case 'matched':
        return 'yes';
      case 'unmatched':
        break;
      case 'stepLimitExceeded':
      case 'subjectTooLong':
        return 'undecidable';
      default:
        return assertNever(outcome);
    }
  }
  return 'no';
}

function restrictiveness(effect: RuleEffect): number {
  switch (effect) {
    case 'allow':
      return 0;
    case 'ask':
      return 1;
    case 'deny':
      return 2;
    default:
      return assertNever(effect);
  }
}
