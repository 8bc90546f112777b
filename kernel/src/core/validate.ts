/**
 * Shape checks for event payloads. The shell validates what it records, but the log may be
 * replayed by a different build: a payload that breaks a bound is refused, never trusted and
 * never a crash. The stamp (`seq`, `atMs`) is the shell's contract and is asserted in `step`.
 */
import { assertNever } from './assert.js';
import type { Event } from './event.js';
import { Limits } from './limits.js';

/** Returns why the event's payload is malformed, or null when it is well formed. */
export function eventProblem(event: Event): string | null {
  switch (event.kind) {
    case 'taskCreated':
      return (
        id('taskId', event.taskId) ??
        text('goal', event.goal, Limits.goalCharsMax) ??
        id('baseCommit', event.baseCommit) ??
        text('verifyCommand', event.verifyCommand, Limits.commandCharsMax) ??
        oneOf('candidate', event.candidate, candidates) ??
        budgetsProblem(event.budgets) ??
        risksProblem(event.risks)
      );
    case 'attemptStarted':
      return id('taskId', event.taskId) ?? attempt(event.attempt) ?? id('attemptId', event.attemptId);
    case 'patchDerived':
      return (
        id('taskId', event.taskId) ??
        attempt(event.attempt) ??
        id('patchDigest', event.patchDigest) ??
        (Array.isArray(event.files) ? null : 'files must be an array') ??
        count('patchBytes', event.patchBytes)
      );
    case 'patchRefused':
    case 'attemptFailed':
      return (
        id('taskId', event.taskId) ?? attempt(event.attempt) ?? str('code', event.code) ?? str('detail', event.detail)
      );
    case 'verifyStarted':
      return (
        id('taskId', event.taskId) ??
        attempt(event.attempt) ??
        id('jobId', event.jobId) ??
        (Number.isSafeInteger(event.leaseMs) && event.leaseMs >= 1 && event.leaseMs <= Limits.leaseMsMax
          ? null
          : `leaseMs must be an integer in [1, ${Limits.leaseMsMax}]`)
      );
    case 'jobHeartbeat':
      return id('jobId', event.jobId);
    case 'verifyFinished':
      return (
        id('taskId', event.taskId) ??
        attempt(event.attempt) ??
        id('jobId', event.jobId) ??
        id('patchDigest', event.patchDigest) ??
        (event.exitCode === null || Number.isSafeInteger(event.exitCode)
          ? null
          : 'exitCode must be an integer or null') ??
        (typeof event.timedOut === 'boolean' ? null : 'timedOut must be a boolean') ??
        count('outputBytes', event.outputBytes) ??
        id('outputDigest', event.outputDigest) ??
        count('durationMs', event.durationMs) ??
        integrityProblem(event.integrity)
      );
    case 'approvalRequested':
      return (
        id('taskId', event.taskId) ??
        id('approvalId', event.approvalId) ??
        oneOf('purpose', event.purpose, purposes) ??
        id('actionDigest', event.actionDigest) ??
        count('expiresAtMs', event.expiresAtMs)
      );
    case 'approvalResolved':
      return (
        id('approvalId', event.approvalId) ??
        oneOf('actor', event.actor, actors) ??
        oneOf('decision', event.decision, decisions) ??
        id('actionDigest', event.actionDigest)
      );
    case 'integrationRequested':
      return id('taskId', event.taskId) ?? id('branch', event.branch) ?? oneOf('mode', event.mode, modes);
    case 'integrationFinished':
      return id('taskId', event.taskId) ?? id('branch', event.branch) ?? id('commit', event.commit);
    case 'integrationFailed':
    case 'taskCancelled':
    case 'sandboxUnavailable':
      return id('taskId', event.taskId) ?? str('reason', event.reason);
    case 'usageCharged':
      return (
        id('taskId', event.taskId) ??
        count('tokens', event.tokens) ??
        count('costMicros', event.costMicros) ??
        count('outputBytes', event.outputBytes)
      );
    case 'modelClaimedDone':
      return id('taskId', event.taskId) ?? str('text', event.text);
    case 'clockTicked':
    case 'kernelRecovered':
      return null;
    case 'secretExposed':
      return id('name', event.name) ?? text('purpose', event.purpose, Limits.detailCharsMax);
    default:
      return assertNever(event);
  }
}

const candidates: readonly string[] = ['patch', 'worker', 'workingTree', 'model'];
const purposes: readonly string[] = ['acceptProtected', 'integrate'];
const actors: readonly string[] = ['user', 'model', 'sidecar', 'worker'];
const decisions: readonly string[] = ['granted', 'denied'];
const modes: readonly string[] = ['newBranch', 'existingBranch'];
const budgetKeys = ['attempts', 'wallMs', 'tokens', 'costMicros', 'outputBytes'] as const;

function id(field: string, value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > Limits.idCharsMax) {
    return `${field} must be a string of 1 to ${Limits.idCharsMax} characters`;
  }
  return null;
}

function text(field: string, value: unknown, charsMax: number): string | null {
  return typeof value === 'string' && value.length <= charsMax
    ? null
    : `${field} must be a string of at most ${charsMax} characters`;
}

function str(field: string, value: unknown): string | null {
  return typeof value === 'string' ? null : `${field} must be a string`;
}

function count(field: string, value: unknown): string | null {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? null : `${field} must be a non-negative safe integer`;
}

function attempt(value: unknown): string | null {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= Limits.attemptsMax
    ? null
    : `attempt must be an integer in [1, ${Limits.attemptsMax}]`;
}

function oneOf(field: string, value: unknown, allowed: readonly string[]): string | null {
  return typeof value === 'string' && allowed.includes(value) ? null : `${field} must be one of ${allowed.join(', ')}`;
}

function risksProblem(risks: unknown): string | null {
  if (risks === undefined) return null;
  if (!Array.isArray(risks) || risks.length > Limits.risksMax)
    return `risks must be an array of at most ${Limits.risksMax} strings`;
  for (const risk of risks as readonly unknown[]) {
    const problem = text('risks[]', risk, Limits.detailCharsMax);
    if (problem !== null) return problem;
  }
  return null;
}

function budgetsProblem(budgets: unknown): string | null {
  if (budgets === undefined) return null;
  if (typeof budgets !== 'object' || budgets === null || Array.isArray(budgets)) return 'budgets must be an object';
  for (const key of budgetKeys) {
    if (!Object.hasOwn(budgets, key)) continue;
    const value: unknown = (budgets as Readonly<Record<string, unknown>>)[key];
    if (!Number.isSafeInteger(value) || (value as number) < 1) return `budgets.${key} must be a positive safe integer`;
    if (key === 'attempts' && (value as number) > Limits.attemptsMax) {
      return `budgets.attempts must be at most ${Limits.attemptsMax}`;
    }
  }
  return null;
}

function integrityProblem(integrity: unknown): string | null {
  if (typeof integrity !== 'object' || integrity === null) return 'integrity must be an object';
  const verdict: unknown = (integrity as { readonly verdict?: unknown }).verdict;
  if (verdict === 'clean') {
    const accepted: unknown = (integrity as { readonly accepted?: unknown }).accepted;
    return accepted === undefined ? null : violationsProblem('integrity.accepted', accepted);
  }
  if (verdict !== 'protected' && verdict !== 'broken') return 'integrity.verdict must be clean, protected or broken';
  return violationsProblem('integrity.violations', (integrity as { readonly violations?: unknown }).violations);
}

function violationsProblem(field: string, violations: unknown): string | null {
  if (!Array.isArray(violations)) return `${field} must be an array`;
  for (const violation of violations as readonly unknown[]) {
    if (typeof violation !== 'object' || violation === null) return `${field} holds a non-object`;
    const { path, rule } = violation as { readonly path?: unknown; readonly rule?: unknown };
    if (typeof path !== 'string' || typeof rule !== 'string') return `${field} needs string path and rule`;
  }
  return null;
}
