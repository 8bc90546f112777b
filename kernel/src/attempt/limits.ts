/** Every bound the attempt module enforces, in one place. */
export const Limits = {
  /** A single git call is killed after this long. */
  gitTimeoutMs: 60_000,
  /** Combined stdout bytes a git call may produce before it is killed and reported as failed. */
  gitOutputBytesMax: 512 * 1024 * 1024,
  /** Captured stderr bytes kept for an error message. */
  gitErrorBytesMax: 8 * 1024,
  /** Random bytes in an attempt id (hex-encoded, so the id is twice as long). */
  attemptIdBytes: 16,
  /** A single file in a derived patch may not be larger than this. */
  fileBytesMax: 64 * 1024 * 1024,
  /** A derived or supplied patch may not be larger than this. */
  patchBytesMax: 128 * 1024 * 1024,
  /** Entries (files, symlinks, directories) a tree walk visits before it gives up. */
  walkEntriesMax: 500_000,
  /** Directory depth a tree walk descends before it gives up. */
  walkDepthMax: 256,
  /** A path in a tree or a patch may not be longer than this many bytes. */
  pathBytesMax: 4096,
  /** Transitive `objects/info/alternates` a repository may chain through. */
  alternatesDepthMax: 5,
  /** An unfinished attempt directory without an owner is stale after this long. */
  unownedAttemptStaleMs: 60_000,
  /** Commit → tree ids a process remembers before it starts over. */
  treeIdsCachedMax: 1024,
} as const;
