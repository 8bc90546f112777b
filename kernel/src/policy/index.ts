/**
 * The kernel's authority: which actions need approval, the rules file, approval tokens bound to
 * one exact action, and capability tokens that can only be narrowed. Keys and time are always
 * passed in; nothing here reads a key file or the clock.
 */
export type { ActionClass } from './action-class.js';
export {
  ActionKind,
  actionKinds,
  classifyAction,
  isActionKind,
  isReviewMode,
  requiresApproval,
  ReviewMode,
  reviewModeDefault,
  reviewModes,
} from './action-class.js';
export type { ActionDescriptor, ActionDigest, ActionDigestResult, ActionTarget } from './action-digest.js';
export { carriesPatch, computeActionDigest, isActionDigest, targetTypeOf } from './action-digest.js';
export type {
  ApprovalActor,
  ApprovalChannel,
  ApprovalDecision,
  ApprovalRecord,
  ApprovalResolution,
  ApprovalsFileResult,
  ApprovalStatus,
  ApprovalSummary,
} from './approval-record.js';
export {
  approvalActors,
  approvalChannels,
  approvalStatuses,
  isApprovalId,
  parseApprovalsFile,
} from './approval-record.js';
export type {
  ApprovalStoreErrorCode,
  ConsumeInput,
  NewApproval,
  ResolveOptions,
  ResolveResult,
} from './approval-store.js';
export { ApprovalStore, ApprovalStoreError } from './approval-store.js';
export type {
  ApprovalCheck,
  ApprovalRefusalCode,
  CheckApprovalInput,
  MintApprovalInput,
  MintedApproval,
} from './approval-token.js';
export { checkApproval, mintApproval, newApprovalRandomId } from './approval-token.js';
export type {
  CapabilityAttenuation,
  CapabilityParse,
  CapabilityRefusal,
  CapabilityRefusalCode,
  CapabilityRequest,
  CapabilityToken,
  CapabilityVerdict,
  Caveat,
  CaveatType,
  MintCapabilityInput,
} from './capability-token.js';
export {
  attenuate,
  CapabilityVerifier,
  mintCapability,
  parseCapability,
  serializeCapability,
  verifyCapability,
  verifyParsedCapability,
} from './capability-token.js';
export type { JsonValue } from './canonical-json.js';
export { canonicalJson } from './canonical-json.js';
export type { GlobCompile, GlobMatch } from './glob.js';
export { compileGlob, Glob } from './glob.js';
export { PolicyLimits } from './limits.js';
export type { PolicyRule, RuleDecision, RuleEffect, RuleRequest, RuleSet, RulesParse } from './rules.js';
export { evaluate, parseRules, ruleEffects, rulesFileVersion, validateRules } from './rules.js';
