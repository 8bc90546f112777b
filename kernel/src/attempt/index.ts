/** Attempt trees, hardened git and patch derivation: the public surface of `kernel/src/attempt`. */
export { Attempt, createAttemptTree, overlayLayoutAvailable, removeStaleAttempts } from './attempt-tree.js';
export type { AttemptLayout, AttemptMount, CreateAttemptResult } from './attempt-tree.js';
export { applyPatchToTree, checkPatchHeaders } from './apply-patch.js';
export { derivePatch, deriveWorkingTreePatch, diffTrees, manifestChanges } from './derive-patch.js';
export type { ChangedFile, DerivedPatch, DeriveResult } from './derive-patch.js';
export { runGit, gitArguments, gitEnvironment, HardeningConfig } from './hardened-git.js';
export type { GitCall, GitError, GitResult } from './hardened-git.js';
export { resolveBase, resolveRepo } from './object-view.js';
export type { RepoInfo, TreeEntry } from './object-view.js';
export type { ChangeRejection } from './path-rules.js';
export { Limits as AttemptLimits } from './limits.js';
