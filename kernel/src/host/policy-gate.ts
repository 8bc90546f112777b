/**
 * The user's policy applied to one command that acts (`run`, `integrate`): the review mode, the
 * protected-path settings and the rules file of the user's config, loaded and validated when the
 * command starts, so a malformed policy stops the command before anything runs.
 *
 * The rules file is asked about the action a command takes: `runWorker` before a worker or a
 * model changes a tree, `writeNewBranch` for `run --branch` (the branch up front, the branch and
 * the patch's paths again before the branch is written), `integrateExistingBranch` for
 * `integrate` (the branch and the verified patch's paths). `deny` refuses, `ask` needs the user's
 * confirmation, `allow` proceeds; every decision that lets a command proceed is returned as one
 * line for the caller to record. Nothing here writes a log: the callers do.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { assertNever, Limits, type Candidate } from '../core/index.js';
import {
  compileGlob,
  evaluate,
  parseRules,
  PolicyLimits,
  requiresApproval,
  type ReviewMode,
  type RuleDecision,
  type RuleRequest,
  type RuleSet,
} from '../policy/index.js';
import type { ProtectedRule } from '../verify/protected-paths.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Confirm } from './integrate.js';

/** A rules file that was read and validated, with where it came from. */
export interface LoadedRules {
  readonly path: string;
  readonly ruleSet: RuleSet;
}

/** The user's policy for one command. */
export interface Policy {
  readonly reviewMode: ReviewMode;
  /** Globs whose protected changes are accepted without approval, as with `--allow-protected`. */
  readonly protectedAllow: readonly string[];
  /** Protected rules checked after the defaults. */
  readonly protectedExtra: readonly ProtectedRule[];
  /** The rules file, or null when the config names none. */
  readonly rules: LoadedRules | null;
}

/** The policy, or the one line that says why it cannot be used (exit 2). */
export type PolicyLoad =
  { readonly ok: true; readonly policy: Policy } | { readonly ok: false; readonly message: string };

/** The policy when the user configured nothing. */
export const defaultPolicy: Policy = Object.freeze({
  reviewMode: 'approve-before-merge',
  protectedAllow: [],
  protectedExtra: [],
  rules: null,
});

/** Loads the user's config (see `config.ts`) and the policy it names. */
export function loadPolicy(env: Readonly<Record<string, string | undefined>>): PolicyLoad {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, message: error.message };
    throw error;
  }
  return policyOf(config);
}

/**
 * The policy of a validated config: its protected-path globs are checked to be usable (a glob the
 * matcher would never match protects or allows nothing, silently), and its rules file is read and
 * validated.
 */
export function policyOf(config: Config): PolicyLoad {
  const where = `config ${config.path ?? '(defaults)'}`;
  for (const [index, glob] of config.protectedPaths.allow.entries()) {
    const problem = globProblem(glob);
    if (problem !== null) return { ok: false, message: `${where}: protectedPaths.allow[${index}]: ${problem}` };
  }
  for (const [index, extra] of config.protectedPaths.extra.entries()) {
    for (const [globIndex, glob] of extra.globs.entries()) {
      const problem = globProblem(glob);
      if (problem !== null) {
        return { ok: false, message: `${where}: protectedPaths.extra[${index}].globs[${globIndex}]: ${problem}` };
      }
    }
  }
  let rules: LoadedRules | null = null;
  if (config.rulesFile !== null) {
    const read = readRulesFile(config.rulesFile);
    if (!read.ok) return read;
    rules = { path: config.rulesFile, ruleSet: read.ruleSet };
  }
  return {
    ok: true,
    policy: {
      reviewMode: config.reviewMode,
      protectedAllow: config.protectedPaths.allow,
      protectedExtra: config.protectedPaths.extra.map((extra) => ({ rule: extra.rule, globs: extra.globs })),
      rules,
    },
  };
}

function globProblem(glob: string): string | null {
  if (glob.length > PolicyLimits.globPatternCharsMax) {
    return `the glob is longer than ${PolicyLimits.globPatternCharsMax} characters; shorten it`;
  }
  const compiled = compileGlob(glob);
  if (!compiled.ok) return `the glob ${JSON.stringify(glob.slice(0, 60))} is invalid: ${compiled.reason}; fix it`;
  return null;
}

/**
 * Reads and validates the rules file at `path`: one line naming the file and the first problem's
 * JSON path when it cannot be used.
 */
export function readRulesFile(
  path: string,
): { readonly ok: true; readonly ruleSet: RuleSet } | { readonly ok: false; readonly message: string } {
  let text: string;
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    if (!stat.isFile())
      return { ok: false, message: `rules file ${path} is not a regular file; fix rulesFile in the config` };
    if (stat.size > PolicyLimits.rulesFileBytesMax) {
      return { ok: false, message: `rules file ${path} is larger than ${PolicyLimits.rulesFileBytesMax} bytes` };
    }
    text = readFileSync(fd, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return {
      ok: false,
      message: `rules file ${path} cannot be read (${code}); create it or fix rulesFile in the config`,
    };
  } finally {
    if (fd !== null) closeSync(fd);
  }
  const parsed = parseRules(text);
  if (parsed.ok) return { ok: true, ruleSet: parsed.ruleSet };
  const [first, ...rest] = parsed.errors;
  const more = rest.length === 0 ? '' : ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})`;
  return { ok: false, message: `rules file ${path}: ${first ?? '(root): invalid'}${more}` };
}

/** A rules decision and the request it answered. */
export interface PolicyDecision {
  readonly request: RuleRequest;
  readonly decision: RuleDecision;
  /** One line for the log and the user (`policy: rule 2 denies writeNewBranch on branch 'release/1': …`). */
  readonly line: string;
}

/** Asks the rules file, if any, about `request`; null when the user has no rules file. */
export function decideByRules(policy: Policy, request: RuleRequest): PolicyDecision | null {
  if (policy.rules === null) return null;
  const decision = evaluate(policy.rules.ruleSet, request);
  return { request, decision, line: describeDecision(request, decision) };
}

/** The one-line account of a decision, clipped to what an event may hold. */
export function describeDecision(request: RuleRequest, decision: RuleDecision): string {
  const who = decision.ruleIndex === null ? 'the rules file' : `rule ${decision.ruleIndex}`;
  const branch = request.branch === undefined ? '' : ` on branch '${request.branch}'`;
  const count = request.paths?.length ?? 0;
  const paths = count === 0 ? '' : ` for ${count} path${count === 1 ? '' : 's'}`;
  return clip(`policy: ${who} ${verbOf(decision)} ${request.action}${branch}${paths}: ${decision.reason}`);
}

function verbOf(decision: RuleDecision): string {
  switch (decision.effect) {
    case 'allow':
      return 'allows';
    case 'deny':
      return 'denies';
    case 'ask':
      return 'asks for';
    default:
      return assertNever(decision.effect);
  }
}

function clip(text: string): string {
  const max = Limits.detailCharsMax;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** What a run is about to do, shown to the user when it needs their confirmation. */
export interface RunPlan {
  readonly repo: string;
  readonly baseCommit: string;
  readonly candidate: Candidate;
  /** The candidate in words: `the worker 'cmd'`, `the model mock:scripted`, … */
  readonly candidateText: string;
  readonly verifyCommand: string;
  readonly attemptsMax: number;
  /** What the untrusted code may use beyond the defaults (`network`, `env NAME`). */
  readonly grants: readonly string[];
  readonly branch: string | null;
}

/** What the policy says about starting a run, before anything runs. */
export type RunAdmission =
  | { readonly verdict: 'refused'; readonly message: string }
  | {
      readonly verdict: 'admitted';
      /** Rules decisions that let the run start (allow, and ask once confirmed). */
      readonly decisions: readonly PolicyDecision[];
      /** Why the user must confirm first; empty when nothing asks. */
      readonly confirmBecause: readonly string[];
    };

/**
 * Decides whether a run may start and whether the user must confirm it first: the rules file for
 * `runWorker` (a worker or model run) and `writeNewBranch` (the `--branch`, without paths), then
 * the review mode: `approve-before-execute` asks before a worker or model runs, and
 * `approve-every-step` before any run.
 */
export function admitRun(policy: Policy, plan: Pick<RunPlan, 'candidate' | 'branch'>): RunAdmission {
  const untrusted = plan.candidate === 'worker' || plan.candidate === 'model';
  const requests: RuleRequest[] = [];
  if (untrusted) requests.push({ action: 'runWorker' });
  if (plan.branch !== null) requests.push({ action: 'writeNewBranch', branch: plan.branch });
  const decisions: PolicyDecision[] = [];
  const confirmBecause: string[] = [];
  for (const request of requests) {
    const decided = decideByRules(policy, request);
    if (decided === null) continue;
    switch (decided.decision.effect) {
      case 'deny':
        return { verdict: 'refused', message: refusalOf(policy, decided) };
      case 'ask':
        confirmBecause.push(decided.line);
        decisions.push(decided);
        break;
      case 'allow':
        decisions.push(decided);
        break;
      default:
        return assertNever(decided.decision.effect);
    }
  }
  if (untrusted && requiresApproval('runWorker', policy.reviewMode)) {
    confirmBecause.unshift(`review mode ${policy.reviewMode} asks before a worker or a model runs`);
  } else if (requiresApproval('runVerify', policy.reviewMode)) {
    confirmBecause.unshift(`review mode ${policy.reviewMode} asks before every step`);
  }
  return { verdict: 'admitted', decisions, confirmBecause };
}

function refusalOf(policy: Policy, decided: PolicyDecision): string {
  return `${decided.line} (rules file ${policy.rules?.path ?? ''})`;
}

/** The plan paragraph shown before the user confirms a run. */
export function describeRunPlan(plan: RunPlan, confirmBecause: readonly string[]): string {
  const attempts =
    plan.candidate === 'worker' || plan.candidate === 'model' ? `, up to ${plan.attemptsMax} attempt(s)` : '';
  const grants = plan.grants.length === 0 ? 'none' : plan.grants.join(', ');
  const delivery =
    plan.branch === null
      ? 'store the verified patch'
      : `store the verified patch and commit it onto new branch '${plan.branch}'`;
  return (
    `plan: take ${plan.candidateText}${attempts} on a fresh tree of ${plan.repo} at ${plan.baseCommit.slice(0, 12)}, ` +
    `verify it with '${plan.verifyCommand}' in the sandbox (no network, no secrets); grants to the untrusted code: ${grants}; ` +
    `on a pass, ${delivery}. Your confirmation is needed: ${confirmBecause.join('; ')}.`
  );
}

/** How the user confirmed: on the terminal, or with `--yes`. */
export type ConfirmedVia = 'cli-tty' | 'cli-yes';

/** `run`'s view of the user's policy and how to ask the user. */
export interface RunPolicy {
  readonly policy: Policy;
  /** `--yes`: the user confirms every question of this run (for scripts). */
  readonly yes: boolean;
  /** Asks on the terminal; null when there is none. */
  readonly confirm: Confirm;
  /** Shows a paragraph to the user (the plan), before the question. */
  readonly show: (text: string) => void;
}

/** A run the policy lets start, with the lines to record in `taskCreated.risks`, or why not. */
export type RunStart =
  | { readonly ok: true; readonly risks: readonly string[] }
  | { readonly ok: false; readonly code: 'usage' | 'refused'; readonly message: string };

/**
 * Applies the policy before a run starts: a rules `deny` refuses (exit 1); when the review mode
 * or a rules `ask` wants the user's confirmation, shows the plan and asks (or takes `--yes`): no
 * terminal and no `--yes` is a usage error (exit 2), a "no" refuses (exit 1). Nothing has run
 * and nothing was written when this returns a refusal.
 */
export async function startRun(runPolicy: RunPolicy, plan: RunPlan): Promise<RunStart> {
  const admission = admitRun(runPolicy.policy, plan);
  if (admission.verdict === 'refused') {
    return { ok: false, code: 'refused', message: `refused: ${admission.message}; nothing was run` };
  }
  const lines = admission.decisions.map((decided) => decided.line);
  if (admission.confirmBecause.length === 0) return { ok: true, risks: lines };
  runPolicy.show(describeRunPlan(plan, admission.confirmBecause));
  const confirmed = await confirmWith(runPolicy, 'run this plan?');
  switch (confirmed) {
    case 'noTerminal':
      return {
        ok: false,
        code: 'usage',
        message: `this run needs your confirmation (${admission.confirmBecause[0] ?? ''}) and there is no terminal to ask on; pass --yes to confirm it from a script (nothing was run)`,
      };
    case 'declined':
      return { ok: false, code: 'refused', message: 'not confirmed; nothing was run' };
    case 'cli-tty':
    case 'cli-yes':
      return { ok: true, risks: [...lines, `confirmed before execute (${confirmed})`] };
    default:
      return assertNever(confirmed);
  }
}

async function confirmWith(runPolicy: RunPolicy, question: string): Promise<ConfirmedVia | 'noTerminal' | 'declined'> {
  if (runPolicy.yes) return 'cli-yes';
  const answer = await runPolicy.confirm(question);
  if (answer === null) return 'noTerminal';
  return answer ? 'cli-tty' : 'declined';
}

/** Whether a new branch may be written now, with the lines that say why. */
export type DeliveryCheck =
  { readonly ok: true; readonly lines: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * The rules file asked again just before `run --branch` writes the branch, now with the verified
 * patch's paths. `deny` keeps the branch unwritten; `ask` needs the user's confirmation (the
 * terminal, or `--yes`), else the branch is not written either.
 */
export async function checkBranchDelivery(
  runPolicy: RunPolicy,
  branch: string,
  paths: readonly string[],
): Promise<DeliveryCheck> {
  const decided = decideByRules(runPolicy.policy, { action: 'writeNewBranch', branch, paths });
  if (decided === null) return { ok: true, lines: [] };
  switch (decided.decision.effect) {
    case 'allow':
      return { ok: true, lines: [decided.line] };
    case 'deny':
      return { ok: false, reason: decided.line };
    case 'ask': {
      const confirmed = await confirmWith(runPolicy, `${decided.line}. Write branch '${branch}'?`);
      switch (confirmed) {
        case 'noTerminal':
          return { ok: false, reason: `${decided.line}; not confirmed: no terminal to ask on (pass --yes)` };
        case 'declined':
          return { ok: false, reason: `${decided.line}; not confirmed` };
        case 'cli-tty':
        case 'cli-yes':
          return { ok: true, lines: [decided.line, `confirmed before delivery (${confirmed})`] };
        default:
          return assertNever(confirmed);
      }
    }
    default:
      return assertNever(decided.decision.effect);
  }
}

/** What the policy says about `integrate`. */
export type IntegrationGate =
  | { readonly verdict: 'refused'; readonly message: string }
  | {
      readonly verdict: 'proceed';
      /** True when the review mode or a rules `ask` wants an approval, whatever the mode. */
      readonly needsApproval: boolean;
      /** The rules decision that let it proceed, if any. */
      readonly lines: readonly string[];
    };

/**
 * Decides `integrate` of a verified patch touching `paths` into existing branch `branch`: a rules
 * `deny` refuses; an `ask` takes the approval path even under review mode `auto`.
 */
export function gateIntegration(policy: Policy, branch: string, paths: readonly string[]): IntegrationGate {
  const byMode = requiresApproval('integrateExistingBranch', policy.reviewMode);
  const decided = decideByRules(policy, { action: 'integrateExistingBranch', branch, paths });
  if (decided === null) return { verdict: 'proceed', needsApproval: byMode, lines: [] };
  switch (decided.decision.effect) {
    case 'deny':
      return { verdict: 'refused', message: `${refusalOf(policy, decided)}; nothing was changed` };
    case 'ask':
      return { verdict: 'proceed', needsApproval: true, lines: [decided.line] };
    case 'allow':
      return { verdict: 'proceed', needsApproval: byMode, lines: [decided.line] };
    default:
      return assertNever(decided.decision.effect);
  }
}
