import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { assert } from '../core/assert.js';
import type { ActionDigest } from './action-digest.js';
import { isActionDigest } from './action-digest.js';
import type { ApprovalRecord } from './approval-record.js';
import { approvalChannels, isApprovalId } from './approval-record.js';
import { encodeBase32 } from './base32.js';
import { canonicalJson } from './canonical-json.js';
import { fieldProblem } from './field-check.js';
import { PolicyLimits } from './limits.js';

/** What {@link mintApproval} needs. The key comes from the kernel's state dir, never from a caller. */
export type MintApprovalInput = {
  /** The approval-minting key: 32 bytes that only the kernel holds. */
  readonly key: Uint8Array;
  readonly actionDigest: ActionDigest;
  readonly taskId: string;
  /** What the approval is for, e.g. `integrate`; part of the MAC, so a token for one purpose fits no other. */
  readonly purpose: string;
  readonly nowMs: number;
  readonly ttlMs: number;
  /** 16 bytes from a CSPRNG ({@link newApprovalRandomId}); passed in so tests are deterministic. */
  readonly randomId: Uint8Array;
};

/** A freshly minted approval. The token stays with the kernel; the id is what the user types. */
export type MintedApproval = {
  /** 26 base32 characters carrying 128 random bits. */
  readonly approvalId: string;
  /** `<approvalId>.<base64url HMAC>`. */
  readonly token: string;
  readonly expiresAtMs: number;
};

/** Why an approval token was refused. */
export type ApprovalRefusalCode =
  'unknownApproval' | 'digestMismatch' | 'expired' | 'alreadyUsed' | 'badMac' | 'wrongActor' | 'notGranted';

/** The result of {@link checkApproval}. */
export type ApprovalCheck =
  { readonly ok: true } | { readonly ok: false; readonly code: ApprovalRefusalCode; readonly reason: string };

/** What {@link checkApproval} needs. */
export type CheckApprovalInput = {
  readonly key: Uint8Array;
  /** The token the kernel kept when it minted the approval. */
  readonly token: string;
  /** The stored record for the token's approval id, or undefined when the store has none. */
  readonly approval: ApprovalRecord | undefined;
  /** The digest of the action about to run, computed afresh from that action. */
  readonly actionDigest: ActionDigest;
  readonly nowMs: number;
  /** Whether the kernel's own log already records this approval as used. */
  readonly used: (approvalId: string) => boolean;
};

// Domain separation: an approval MAC can never be replayed as any other kernel MAC.
const domain = 'crustcore/approval-token/v1\n';
const tokenPattern = /^([a-z2-7]{26})\.([A-Za-z0-9_-]{43})$/;

/** 16 fresh bytes from the operating system's CSPRNG, for {@link MintApprovalInput.randomId}. */
export function newApprovalRandomId(): Uint8Array {
  return randomBytes(PolicyLimits.randomIdBytes);
}

/**
 * Mints an approval bound to one action digest, one task and one purpose, valid for `ttlMs`.
 * Only the kernel calls this; malformed input is a bug in the kernel and throws.
 */
export function mintApproval(input: MintApprovalInput): MintedApproval {
  assertKey(input.key);
  assert(input.randomId.length === PolicyLimits.randomIdBytes, 'approval randomId is 16 bytes');
  assert(isActionDigest(input.actionDigest), 'approval actionDigest is sha256:<hex>');
  assert(fieldProblem(input.taskId) === null, 'approval taskId is a valid field');
  assert(fieldProblem(input.purpose) === null, 'approval purpose is a valid field');
  assert(Number.isSafeInteger(input.nowMs) && input.nowMs >= 0, 'approval nowMs is a non-negative integer');
  assert(
    Number.isSafeInteger(input.ttlMs) && input.ttlMs > 0 && input.ttlMs <= PolicyLimits.approvalTtlMsMax,
    'approval ttlMs is a positive integer within PolicyLimits.approvalTtlMsMax',
  );
  const approvalId = encodeBase32(input.randomId);
  const expiresAtMs = input.nowMs + input.ttlMs;
  const mac = approvalMac(input.key, approvalId, input.actionDigest, expiresAtMs, input.purpose, input.taskId);
  return { approvalId, token: `${approvalId}.${mac.toString('base64url')}`, expiresAtMs };
}

/**
 * Decides whether `token` authorises the action whose digest is `actionDigest`, now. It does only
 * when the token's MAC matches the stored approval, the approval is for exactly this action, it
 * has not expired, has not been used, and a user granted it through an authenticated channel.
 * Checks run in that order, so the first broken binding names the refusal.
 */
export function checkApproval(input: CheckApprovalInput): ApprovalCheck {
  assertKey(input.key);
  const match = typeof input.token === 'string' ? tokenPattern.exec(input.token) : null;
  if (match === null) return refuse('badMac', 'approval token is malformed; use the token the kernel minted');
  const tokenId = match[1] ?? '';
  const tokenMac = Buffer.from(match[2] ?? '', 'base64url');
  const approval = input.approval;
  if (approval === undefined || !isApprovalId(approval.approvalId) || approval.approvalId !== tokenId) {
    return refuse('unknownApproval', `no pending approval ${tokenId}; list them with \`crustcore approvals\``);
  }
  const expected = approvalMac(
    input.key,
    approval.approvalId,
    approval.actionDigest,
    approval.expiresAtMs,
    approval.purpose,
    approval.taskId,
  );
  if (tokenMac.length !== expected.length || !timingSafeEqual(tokenMac, expected)) {
    return refuse('badMac', `approval ${tokenId} does not match its token: the record or the token was altered`);
  }
  if (approval.status === 'used' || approval.usedAtMs !== null || input.used(approval.approvalId)) {
    return refuse('alreadyUsed', `approval ${tokenId} was already used; an approval authorises one action once`);
  }
  if (approval.actionDigest !== input.actionDigest) {
    return refuse('digestMismatch', `approval ${tokenId} is for another action (patch, target or base differ)`);
  }
  if (approval.status === 'expired' || input.nowMs >= approval.expiresAtMs) {
    return refuse('expired', `approval ${tokenId} expired; the kernel must request a new one`);
  }
  const resolution = approval.resolution;
  if (approval.status !== 'granted' || resolution === null || resolution.decision !== 'grant') {
    return refuse('notGranted', `approval ${tokenId} is ${approval.status}, not granted`);
  }
  if (resolution.actor !== 'user' || !approvalChannels.includes(resolution.via)) {
    return refuse('wrongActor', `approval ${tokenId} was resolved by ${resolution.actor}; only the user can approve`);
  }
  if (resolution.atMs >= approval.expiresAtMs) {
    return refuse('expired', `approval ${tokenId} was granted after it expired`);
  }
  return { ok: true };
}

function approvalMac(
  key: Uint8Array,
  approvalId: string,
  actionDigest: string,
  expiresAtMs: number,
  purpose: string,
  taskId: string,
): Buffer {
  const message = canonicalJson([approvalId, actionDigest, expiresAtMs, purpose, taskId]);
  return createHmac('sha256', key).update(domain).update(message).digest();
}

function assertKey(key: Uint8Array): void {
  assert(key instanceof Uint8Array && key.length === PolicyLimits.keyBytes, 'approval key is 32 bytes');
}

function refuse(code: ApprovalRefusalCode, reason: string): ApprovalCheck {
  return { ok: false, code, reason };
}
