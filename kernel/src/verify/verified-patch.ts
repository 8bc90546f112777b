/**
 * The sealed proof that a patch passed the kernel's own verify run.
 *
 * Only `mintVerifiedPatch` makes one, and only `kernel/src/verify/` may call it (the xtask import
 * gate enforces that). The seal is a `#private` field: object literals, JSON round trips,
 * structured clones, `Object.create(VerifiedPatch.prototype)`, spreads and proxies are never
 * genuine, because `#digest in x` is false for all of them.
 */

/** What the verifier observed. Minting refuses evidence that is not a clean pass. */
export interface VerifyEvidence {
  readonly taskId: string;
  readonly baseCommit: string;
  readonly patch: Uint8Array;
  readonly patchDigest: string;
  readonly treeDigest: string;
  readonly files: readonly string[];
  readonly verifyCommand: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly outputDigest: string;
  readonly receipt: string;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
}

const MINT: unique symbol = Symbol('VerifiedPatch.mint');
let construct: (evidence: VerifyEvidence) => VerifiedPatch;

/** A patch the kernel verified itself. Immutable; its bytes are copied in and out. */
export class VerifiedPatch {
  readonly #evidence: VerifyEvidence;
  readonly #digest: string;

  static {
    construct = (evidence) => new VerifiedPatch(MINT, evidence);
  }

  private constructor(token: typeof MINT, evidence: VerifyEvidence) {
    if (token !== MINT) throw new TypeError('VerifiedPatch is minted by the verify gate only');
    this.#evidence = Object.freeze({
      ...evidence,
      patch: evidence.patch.slice(),
      files: Object.freeze([...evidence.files]),
    });
    this.#digest = evidence.patchDigest;
    Object.freeze(this);
  }

  /** True only for objects this class constructed. */
  static is(value: unknown): value is VerifiedPatch {
    return typeof value === 'object' && value !== null && #digest in value;
  }

  get taskId(): string {
    return this.#evidence.taskId;
  }
  get baseCommit(): string {
    return this.#evidence.baseCommit;
  }
  /** A copy of the patch bytes, so a caller cannot change the sealed ones. */
  get patch(): Uint8Array {
    return this.#evidence.patch.slice();
  }
  get patchDigest(): string {
    return this.#digest;
  }
  get treeDigest(): string {
    return this.#evidence.treeDigest;
  }
  get files(): readonly string[] {
    return this.#evidence.files;
  }
  get verifyCommand(): string {
    return this.#evidence.verifyCommand;
  }
  get exitCode(): number {
    return 0;
  }
  get outputDigest(): string {
    return this.#evidence.outputDigest;
  }
  get receipt(): string {
    return this.#evidence.receipt;
  }
  get startedAtMs(): number {
    return this.#evidence.startedAtMs;
  }
  get finishedAtMs(): number {
    return this.#evidence.finishedAtMs;
  }

  /** A plain summary for logs and `--json`; it is data, never a VerifiedPatch again. */
  toJSON(): Record<string, unknown> {
    const { patch: _patch, ...rest } = this.#evidence;
    return { ...rest, patchBytes: this.#evidence.patch.byteLength, genuine: true };
  }
}

/** Why a mint was refused: evidence that is not a clean pass never becomes a VerifiedPatch. */
export type MintRefusal = { readonly code: 'notPassing' | 'digestMismatch' | 'incomplete'; readonly detail: string };

/**
 * Mints a VerifiedPatch from the verifier's own evidence. Callable from `kernel/src/verify/` only.
 * `digestOf` recomputes the patch digest so the evidence cannot claim a digest of other bytes.
 */
export function mintVerifiedPatch(
  evidence: VerifyEvidence,
  digestOf: (bytes: Uint8Array) => string,
): { readonly ok: true; readonly patch: VerifiedPatch } | { readonly ok: false; readonly refusal: MintRefusal } {
  if (evidence.exitCode !== 0 || evidence.timedOut) {
    return {
      ok: false,
      refusal: {
        code: 'notPassing',
        detail: `exit ${String(evidence.exitCode)}, timedOut ${String(evidence.timedOut)}`,
      },
    };
  }
  if (digestOf(evidence.patch) !== evidence.patchDigest) {
    return {
      ok: false,
      refusal: { code: 'digestMismatch', detail: 'the patch bytes do not match the verified digest' },
    };
  }
  if (evidence.baseCommit === '' || evidence.verifyCommand === '' || evidence.outputDigest === '') {
    return {
      ok: false,
      refusal: { code: 'incomplete', detail: 'evidence lacks a base commit, verify command or output digest' },
    };
  }
  return { ok: true, patch: construct(evidence) };
}

/** Throws unless `value` is a genuine VerifiedPatch: the guard every completing step calls first. */
export function assertGenuine(value: unknown): asserts value is VerifiedPatch {
  if (!VerifiedPatch.is(value))
    throw new TypeError('refused: not a genuine VerifiedPatch (only the verify gate mints one)');
}
