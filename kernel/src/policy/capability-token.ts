import { createHmac, timingSafeEqual } from 'node:crypto';
import { assert, assertNever } from '../core/assert.js';
import type { ActionKind } from './action-class.js';
import { actionKinds, isActionKind } from './action-class.js';
import { encodeBase32 } from './base32.js';
import { canonicalJson } from './canonical-json.js';
import type { JsonValue } from './canonical-json.js';
import { describeValue, fieldProblem, isRecord } from './field-check.js';
import { PolicyLimits } from './limits.js';

/**
 * One restriction on a capability token. A token authorises a request only when every caveat
 * on it holds, so adding a caveat can only narrow what the token allows.
 */
export type Caveat =
  | { readonly type: 'taskId'; readonly taskId: string }
  | { readonly type: 'actions'; readonly actions: readonly ActionKind[] }
  | { readonly type: 'pathPrefix'; readonly pathPrefix: string }
  | { readonly type: 'branchPrefix'; readonly branchPrefix: string }
  | { readonly type: 'expiresAtMs'; readonly expiresAtMs: number }
  | { readonly type: 'usesMax'; readonly usesMax: number };

/** The type tag of a {@link Caveat}. */
export type CaveatType = Caveat['type'];

/** A parsed capability token. */
export type CapabilityToken = {
  /** Names the grant; a use counter must be keyed by it, since attenuated tokens share it. */
  readonly identifier: string;
  readonly caveats: readonly Caveat[];
  /** The last link of the HMAC chain, base64url. */
  readonly signature: string;
};

/** What a token is asked to authorise. */
export type CapabilityRequest = {
  readonly taskId: string;
  readonly action: ActionKind;
  /** Repo-relative path with `/` separators, when the action is about a path. */
  readonly path?: string;
  /** Branch name, when the action is about a branch. */
  readonly branch?: string;
  readonly nowMs: number;
  /** How often the token's identifier was used before this request, by the verifier's counter. */
  readonly usesSoFar: number;
};

/** Why a token or a request is refused. */
export type CapabilityRefusalCode =
  | 'malformed'
  | 'unknownCaveat'
  | 'badSignature'
  | 'missingExpiry'
  | 'invalidRequest'
  | 'taskIdMismatch'
  | 'actionNotAllowed'
  | 'pathOutsidePrefix'
  | 'branchOutsidePrefix'
  | 'expired'
  | 'usesExhausted';

/** A refusal; `caveatIndex` names the failed caveat when one failed. */
export type CapabilityRefusal = {
  readonly ok: false;
  readonly code: CapabilityRefusalCode;
  readonly caveatIndex: number | null;
  readonly reason: string;
};

/** The result of {@link verifyCapability}. */
export type CapabilityVerdict = { readonly ok: true } | CapabilityRefusal;

/** The result of {@link parseCapability}. */
export type CapabilityParse = { readonly ok: true; readonly token: CapabilityToken } | CapabilityRefusal;

/** The result of {@link attenuate}: the narrower token, serialized. */
export type CapabilityAttenuation = { readonly ok: true; readonly token: string } | CapabilityRefusal;

/** What {@link mintCapability} needs. */
export type MintCapabilityInput = {
  /** The capability root key: 32 bytes that only the kernel holds. */
  readonly rootKey: Uint8Array;
  /** 16 bytes from a CSPRNG; passed in so tests are deterministic. */
  readonly randomId: Uint8Array;
  /** Must include an `expiresAtMs` caveat: a token without one never verifies. */
  readonly caveats: readonly Caveat[];
};

const rootDomain = 'crustcore/capability-token/v1\n';

// Canonical caveat texts computed while parsing, so verification does not encode them again.
const caveatTextsOf = new WeakMap<CapabilityToken, readonly string[]>();
const identifierPattern = /^cap1-[a-z2-7]{26}$/;
const signaturePattern = /^[A-Za-z0-9_-]{43}$/;
const tokenPattern = /^[A-Za-z0-9_-]+$/;
const timeMax = Number.MAX_SAFE_INTEGER;

/**
 * Mints a token for `caveats` under `rootKey`: `sig0 = HMAC(rootKey, identifier)`,
 * `sig(i+1) = HMAC(sig(i), caveat(i))`. Returns the serialized token. Only the kernel mints;
 * malformed input (including a missing expiry) is a kernel bug and throws.
 */
export function mintCapability(input: MintCapabilityInput): string {
  assertRootKey(input.rootKey);
  assert(input.randomId.length === PolicyLimits.randomIdBytes, 'capability randomId is 16 bytes');
  assert(input.caveats.length <= PolicyLimits.capabilityCaveatsMax, 'capability caveats within limit');
  assert(
    input.caveats.some((caveat) => caveat.type === 'expiresAtMs'),
    'a capability is minted with an expiresAtMs caveat',
  );
  const caveats = input.caveats.map((caveat, index) => {
    const read = readCaveat(caveat);
    assert(typeof read !== 'string', `capability caveat ${index} is valid: ${String(read)}`);
    return read as Caveat;
  });
  const identifier = `cap1-${encodeBase32(input.randomId)}`;
  let signature = rootSignature(input.rootKey, identifier);
  for (const caveat of caveats) signature = chain(signature, canonicalJson(caveatJson(caveat)));
  return serialize({ identifier, caveats, signature: signature.toString('base64url') });
}

/**
 * Adds one caveat to a token without the root key. Caveats are only ever appended: removing or
 * changing one would need the signature that preceded it, which the token does not carry.
 */
export function attenuate(token: string, caveat: Caveat): CapabilityAttenuation {
  const parsed = parseCapability(token);
  if (!parsed.ok) return parsed;
  const { identifier, caveats, signature } = parsed.token;
  if (caveats.length >= PolicyLimits.capabilityCaveatsMax) {
    return refusal(
      'malformed',
      null,
      `token already has ${caveats.length} caveats (PolicyLimits.capabilityCaveatsMax)`,
    );
  }
  const read = readCaveat(caveat);
  if (typeof read === 'string') return refusal('malformed', caveats.length, `new caveat: ${read}`);
  const next = chain(Buffer.from(signature, 'base64url'), canonicalJson(caveatJson(read))).toString('base64url');
  return { ok: true, token: serialize({ identifier, caveats: [...caveats, read], signature: next }) };
}

/** The serialized form of a parsed token: base64url of its canonical JSON. */
export function serializeCapability(token: CapabilityToken): string {
  return serialize(token);
}

/**
 * Parses a serialized token, checking size, encoding, shape and every caveat. It does not check
 * the signature (that needs the root key). A token that is not in canonical form is malformed,
 * so one grant has exactly one spelling.
 */
export function parseCapability(token: string): CapabilityParse {
  if (typeof token !== 'string' || token.length === 0 || token.length > PolicyLimits.capabilityTokenCharsMax) {
    return refusal(
      'malformed',
      null,
      `token must be 1 to ${PolicyLimits.capabilityTokenCharsMax} base64url characters`,
    );
  }
  if (!tokenPattern.test(token)) return refusal('malformed', null, 'token is not base64url');
  const json = Buffer.from(token, 'base64url').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return refusal('malformed', null, 'token does not decode to JSON');
  }
  if (!isRecord(value) || !hasExactKeys(value, ['caveats', 'id', 'sig', 'v']) || value['v'] !== 1) {
    return refusal('malformed', null, 'token must be {v: 1, id, caveats, sig}');
  }
  const identifier = value['id'];
  const signature = value['sig'];
  const rawCaveats = value['caveats'];
  if (typeof identifier !== 'string' || !identifierPattern.test(identifier)) {
    return refusal('malformed', null, `token id must look like cap1-<26 base32>, got ${describeValue(identifier)}`);
  }
  if (typeof signature !== 'string' || !signaturePattern.test(signature)) {
    return refusal('malformed', null, 'token sig must be 43 base64url characters');
  }
  if (!Array.isArray(rawCaveats) || rawCaveats.length > PolicyLimits.capabilityCaveatsMax) {
    return refusal('malformed', null, `token caveats must be an array of at most ${PolicyLimits.capabilityCaveatsMax}`);
  }
  const caveats: Caveat[] = [];
  const caveatTexts: string[] = [];
  for (const [index, raw] of rawCaveats.entries()) {
    if (isRecord(raw) && typeof raw['type'] === 'string' && !isCaveatType(raw['type'])) {
      return refusal('unknownCaveat', index, `caveat ${index} has unknown type ${describeValue(raw['type'])}`);
    }
    const read = readCaveat(raw);
    if (typeof read === 'string') return refusal('malformed', index, `caveat ${index}: ${read}`);
    caveats.push(read);
    caveatTexts.push(canonicalJson(caveatJson(read)));
  }
  const parsed: CapabilityToken = { identifier, caveats, signature };
  if (canonicalText(identifier, caveatTexts, signature) !== json) {
    return refusal('malformed', null, 'token is not in canonical form');
  }
  caveatTextsOf.set(parsed, caveatTexts);
  return { ok: true, token: parsed };
}

/**
 * Decides whether `token` authorises `request`: the HMAC chain must lead from `rootKey` to the
 * token's signature (compared in constant time), the token must carry an expiry, and every
 * caveat must hold. The refusal names the first caveat that failed.
 */
export function verifyCapability(rootKey: Uint8Array, token: string, request: CapabilityRequest): CapabilityVerdict {
  assertRootKey(rootKey);
  const parsed = parseCapability(token);
  if (!parsed.ok) return parsed;
  return verifyParsedCapability(rootKey, parsed.token, request);
}

/** As {@link verifyCapability}, for a token already parsed by {@link parseCapability}. */
export function verifyParsedCapability(
  rootKey: Uint8Array,
  token: CapabilityToken,
  request: CapabilityRequest,
): CapabilityVerdict {
  assertRootKey(rootKey);
  if (!signatureMatches(rootKey, token)) return badSignature();
  return checkCaveats(token, request);
}

/**
 * A verifier bound to one root key that remembers, for a bounded number of serialized tokens,
 * that their signature chain already checked out. Caveats (expiry, uses, task, action, path,
 * branch) are still checked on every request; only the parse and the HMAC chain are skipped.
 */
export class CapabilityVerifier {
  readonly #rootKey: Uint8Array;
  readonly #signed = new Map<string, CapabilityToken>();
  readonly #entriesMax: number;

  /** `entriesMax` bounds the memory (default `PolicyLimits.capabilityVerifierEntriesMax`). */
  constructor(rootKey: Uint8Array, options: { readonly entriesMax?: number } = {}) {
    assertRootKey(rootKey);
    this.#rootKey = Uint8Array.from(rootKey);
    this.#entriesMax = Math.max(1, options.entriesMax ?? PolicyLimits.capabilityVerifierEntriesMax);
  }

  /** As {@link verifyCapability} under this verifier's root key. */
  verify(token: string, request: CapabilityRequest): CapabilityVerdict {
    const known = this.#signed.get(token);
    if (known !== undefined) return checkCaveats(known, request);
    const parsed = parseCapability(token);
    if (!parsed.ok) return parsed;
    if (!signatureMatches(this.#rootKey, parsed.token)) return badSignature();
    if (this.#signed.size >= this.#entriesMax) {
      const oldest = this.#signed.keys().next();
      if (oldest.done !== true) this.#signed.delete(oldest.value);
    }
    this.#signed.set(token, parsed.token);
    return checkCaveats(parsed.token, request);
  }
}

function badSignature(): CapabilityRefusal {
  return refusal(
    'badSignature',
    null,
    'token signature does not match: it was forged, altered or minted under another key',
  );
}

function signatureMatches(rootKey: Uint8Array, token: CapabilityToken): boolean {
  const texts = caveatTextsOf.get(token) ?? token.caveats.map((caveat) => canonicalJson(caveatJson(caveat)));
  let signature = rootSignature(rootKey, token.identifier);
  for (const text of texts) signature = chain(signature, text);
  const presented = Buffer.from(token.signature, 'base64url');
  return presented.length === signature.length && timingSafeEqual(presented, signature);
}

function checkCaveats(token: CapabilityToken, request: CapabilityRequest): CapabilityVerdict {
  if (!token.caveats.some((caveat) => caveat.type === 'expiresAtMs')) {
    return refusal('missingExpiry', null, 'token has no expiresAtMs caveat; tokens without an expiry are never valid');
  }
  const requestProblem = capabilityRequestProblem(request);
  if (requestProblem !== null) return refusal('invalidRequest', null, `request ${requestProblem}`);
  for (const [index, caveat] of token.caveats.entries()) {
    const failure = caveatFailure(caveat, request);
    if (failure !== null) return refusal(failure.code, index, `caveat ${index} (${caveat.type}): ${failure.reason}`);
  }
  return { ok: true };
}

function caveatFailure(
  caveat: Caveat,
  request: CapabilityRequest,
): { readonly code: CapabilityRefusalCode; readonly reason: string } | null {
  switch (caveat.type) {
    case 'taskId':
      return request.taskId === caveat.taskId
        ? null
        : { code: 'taskIdMismatch', reason: `token is for task ${caveat.taskId}, not ${request.taskId}` };
    case 'actions':
      return caveat.actions.includes(request.action)
        ? null
        : { code: 'actionNotAllowed', reason: `${request.action} is not among ${caveat.actions.join(', ')}` };
    case 'pathPrefix':
      return request.path !== undefined && isUnderPrefix(request.path, caveat.pathPrefix)
        ? null
        : {
            code: 'pathOutsidePrefix',
            reason: `path ${describeValue(request.path)} is not under ${caveat.pathPrefix}`,
          };
    case 'branchPrefix':
      return request.branch !== undefined && request.branch.startsWith(caveat.branchPrefix)
        ? null
        : {
            code: 'branchOutsidePrefix',
            reason: `branch ${describeValue(request.branch)} does not start with ${caveat.branchPrefix}`,
          };
    case 'expiresAtMs':
      return request.nowMs < caveat.expiresAtMs
        ? null
        : { code: 'expired', reason: `token expired at ${caveat.expiresAtMs}` };
    case 'usesMax':
      return request.usesSoFar < caveat.usesMax
        ? null
        : { code: 'usesExhausted', reason: `token was used ${request.usesSoFar} of ${caveat.usesMax} times` };
    default:
      return assertNever(caveat);
  }
}

function isUnderPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

function capabilityRequestProblem(request: CapabilityRequest): string | null {
  const taskProblem = fieldProblem(request.taskId);
  if (taskProblem !== null) return `taskId: ${taskProblem}`;
  if (!isActionKind(request.action)) return `action: expected an action kind, got ${describeValue(request.action)}`;
  if (request.path !== undefined) {
    const pathProblem = relativePathProblem(request.path);
    if (pathProblem !== null) return `path: ${pathProblem}`;
  }
  if (request.branch !== undefined) {
    const branchProblem = fieldProblem(request.branch);
    if (branchProblem !== null) return `branch: ${branchProblem}`;
  }
  if (!Number.isSafeInteger(request.nowMs) || request.nowMs < 0) return 'nowMs: expected a non-negative integer';
  if (!Number.isSafeInteger(request.usesSoFar) || request.usesSoFar < 0) {
    return 'usesSoFar: expected a non-negative integer';
  }
  return null;
}

/** Why `path` is not a normalized repo-relative path, or null. */
function relativePathProblem(path: unknown): string | null {
  const problem = fieldProblem(path);
  if (problem !== null) return problem;
  const text = path as string;
  if (text.startsWith('/') || text.includes('\\')) return 'expected a relative path with / separators';
  for (const segment of text.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      return 'expected a normalized path (no empty, . or .. segments)';
    }
  }
  return null;
}

function isCaveatType(type: string): type is CaveatType {
  switch (type) {
    case 'taskId':
    case 'actions':
    case 'pathPrefix':
    case 'branchPrefix':
    case 'expiresAtMs':
    case 'usesMax':
      return true;
    default:
      return false;
  }
}

/** Validates an untrusted caveat; returns it rebuilt from its known fields, or a problem. */
function readCaveat(value: unknown): Caveat | string {
  if (!isRecord(value)) return `expected an object, got ${describeValue(value)}`;
  const type = value['type'];
  if (typeof type !== 'string' || !isCaveatType(type)) return `unknown caveat type ${describeValue(type)}`;
  if (!hasExactKeys(value, ['type', type])) return `caveat ${type} must have exactly the keys type and ${type}`;
  const field: unknown = value[type];
  switch (type) {
    case 'taskId': {
      const problem = fieldProblem(field);
      return problem === null ? { type, taskId: field as string } : `taskId: ${problem}`;
    }
    case 'actions': {
      if (!Array.isArray(field) || field.length === 0 || field.length > PolicyLimits.capabilityActionsMax) {
        return `actions: expected 1 to ${PolicyLimits.capabilityActionsMax} action kinds`;
      }
      if (!field.every(isActionKind)) return `actions: expected only ${actionKinds.join(' | ')}`;
      return { type, actions: [...(field as ActionKind[])] };
    }
    case 'pathPrefix': {
      const problem = relativePathProblem(field);
      return problem === null ? { type, pathPrefix: field as string } : `pathPrefix: ${problem}`;
    }
    case 'branchPrefix': {
      const problem = fieldProblem(field);
      return problem === null ? { type, branchPrefix: field as string } : `branchPrefix: ${problem}`;
    }
    case 'expiresAtMs':
      return Number.isSafeInteger(field) && (field as number) >= 0 && (field as number) <= timeMax
        ? { type, expiresAtMs: field as number }
        : `expiresAtMs: expected a non-negative integer, got ${describeValue(field)}`;
    case 'usesMax':
      return Number.isSafeInteger(field) && (field as number) >= 1
        ? { type, usesMax: field as number }
        : `usesMax: expected a positive integer, got ${describeValue(field)}`;
    default:
      return assertNever(type);
  }
}

function caveatJson(caveat: Caveat): JsonValue {
  switch (caveat.type) {
    case 'taskId':
      return { type: caveat.type, taskId: caveat.taskId };
    case 'actions':
      return { type: caveat.type, actions: [...caveat.actions] };
    case 'pathPrefix':
      return { type: caveat.type, pathPrefix: caveat.pathPrefix };
    case 'branchPrefix':
      return { type: caveat.type, branchPrefix: caveat.branchPrefix };
    case 'expiresAtMs':
      return { type: caveat.type, expiresAtMs: caveat.expiresAtMs };
    case 'usesMax':
      return { type: caveat.type, usesMax: caveat.usesMax };
    default:
      return assertNever(caveat);
  }
}

function hasExactKeys(value: Readonly<Record<string, unknown>>, keys: readonly string[]): boolean {
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((key) => Object.hasOwn(value, key));
}

function rootSignature(rootKey: Uint8Array, identifier: string): Buffer {
  return createHmac('sha256', rootKey).update(rootDomain).update(identifier).digest();
}

function chain(signature: Uint8Array, caveatText: string): Buffer {
  return createHmac('sha256', signature).update(caveatText).digest();
}

function serialize(token: CapabilityToken): string {
  const texts = token.caveats.map((caveat) => canonicalJson(caveatJson(caveat)));
  return Buffer.from(canonicalText(token.identifier, texts, token.signature), 'utf8').toString('base64url');
}

/** The canonical JSON of a token, assembled from already-canonical caveat texts (keys in sorted order). */
function canonicalText(identifier: string, caveatTexts: readonly string[], signature: string): string {
  return `{"caveats":[${caveatTexts.join(',')}],"id":${JSON.stringify(identifier)},"sig":${JSON.stringify(signature)},"v":1}`;
}

function assertRootKey(key: Uint8Array): void {
  assert(key instanceof Uint8Array && key.length === PolicyLimits.keyBytes, 'capability root key is 32 bytes');
}

function refusal(code: CapabilityRefusalCode, caveatIndex: number | null, reason: string): CapabilityRefusal {
  return { ok: false, code, caveatIndex, reason };
}
