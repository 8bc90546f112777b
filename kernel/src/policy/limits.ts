/**
 * Every bound the policy module enforces. Inputs that exceed one are refused with an error that
 * names the limit; nothing here grows without bound on untrusted input.
 */
export const PolicyLimits = {
  /** Characters in one glob pattern as written. */
  globPatternCharsMax: 1024,
  /** Alternatives a pattern may expand to through `{a,b}` (the product over all groups). */
  globAlternativesMax: 256,
  /** Characters over all expanded alternatives of one pattern. */
  globExpandedCharsMax: 16_384,
  /** Nesting depth of `{…}` groups. */
  globBraceDepthMax: 8,
  /** Automaton steps one match may take before it stops and reports `stepLimitExceeded`. */
  globStepsMax: 2_000_000,
  /** Characters of a path or branch name a glob is matched against. */
  globSubjectCharsMax: 4096,

  /** Bytes of a rules file. */
  rulesFileBytesMax: 1_048_576,
  /** Rules in one rules file. */
  rulesMax: 1000,
  /** Globs in one rule's `branches` or `paths` list. */
  ruleGlobsMax: 64,
  /** Validation errors reported for one rules file; the rest are summarised. */
  rulesErrorsMax: 50,
  /** Magnitude of a rule priority. */
  rulePriorityAbsMax: 1_000_000,
  /** Paths in one rules request. */
  requestPathsMax: 100_000,

  /** Characters of one identifier-like field (task id, branch, remote, purpose, digest). */
  fieldCharsMax: 512,

  /** Characters of a serialized capability token. */
  capabilityTokenCharsMax: 8192,
  /** Caveats on one capability token. */
  capabilityCaveatsMax: 32,
  /** Entries in one `actions` caveat. */
  capabilityActionsMax: 32,
  /** Serialized tokens a CapabilityVerifier remembers as correctly signed. */
  capabilityVerifierEntriesMax: 1024,

  /** Longest an approval may stay valid. */
  approvalTtlMsMax: 7 * 24 * 60 * 60 * 1000,
  /** Bytes of the approvals file. */
  approvalsFileBytesMax: 8_388_608,
  /** Approvals kept in the approvals file. */
  approvalsMax: 10_000,
  /** Files, protected-path reasons or similar list entries in one approval summary. */
  approvalSummaryItemsMax: 10_000,
  /** Characters of one free-text field in an approval summary. */
  approvalSummaryTextCharsMax: 4096,
  /** How long a store operation waits for another process's lock before giving up. */
  approvalsLockWaitMs: 5000,

  /** Bytes of an HMAC or root key. */
  keyBytes: 32,
  /** Bytes of the randomness in an approval id or capability identifier. */
  randomIdBytes: 16,
} as const;
