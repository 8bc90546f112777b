/**
 * Receipts: one per tool, verify or sidecar result that a model may see. Each receipt is an
 * HMAC-SHA-256 (state-dir key `receipts`) over the log id, its place in the chain, the sequence
 * number of the log record that holds the result, the previous receipt's MAC and the result's
 * SHA-256. Whoever holds the key can issue receipts; nobody else can make one that verifies, move
 * one to another log, or reorder or replay one within a chain.
 */
import { hash as digest } from 'node:crypto';
import type { MacKey } from '../host/state-dir.js';

/** The state-dir key name that MACs receipts. */
export const receiptsKeyName = 'receipts';

/** The `prevMac` of the first receipt in a chain: 64 zeros. */
export const firstPrevMac = '0'.repeat(64);

/** A receipt as issued; plain JSON so it can travel with the result. */
export type Receipt = {
  readonly version: 1;
  readonly logId: string;
  /** 0-based position in the log's receipt chain. */
  readonly index: number;
  /** Sequence number of the log record that holds the result. */
  readonly recordSeq: number;
  readonly resultSha256: string;
  readonly prevMac: string;
  readonly mac: string;
};

/** Why a receipt was rejected. */
export type ReceiptRejectionCode = 'malformed' | 'badMac' | 'wrongLog' | 'outOfOrder';

/** The outcome of `verifyReceipt`. */
export type ReceiptVerdict =
  | { readonly ok: true; readonly receipt: Receipt }
  | { readonly ok: false; readonly code: ReceiptRejectionCode; readonly reason: string };

/** SHA-256 of a result as it was shown to the model. */
export function resultSha256(result: string | Uint8Array): string {
  return digest('sha256', result, 'hex');
}

/** The exact bytes a receipt MAC covers. */
export function receiptMacInput(fields: Omit<Receipt, 'mac' | 'version'>): string {
  return `crustcore-receipt/v1\n${fields.logId}\n${fields.index}\n${fields.recordSeq}\n${fields.prevMac}\n${fields.resultSha256}`;
}

const hex32 = /^[0-9a-f]{32}$/;
const hex64 = /^[0-9a-f]{64}$/;

/**
 * Issues the receipt that follows `previous` (null for the first in the log) for the result held
 * by record `recordSeq`. Record numbers must increase along the chain.
 */
export function issueReceipt(
  key: MacKey,
  logId: string,
  previous: Receipt | null,
  recordSeq: number,
  resultDigest: string,
): Receipt {
  if (!hex32.test(logId)) throw new RangeError(`receipt logId '${logId}' is not 32 lowercase hex digits`);
  if (!hex64.test(resultDigest)) throw new RangeError('receipt resultSha256 is not 64 lowercase hex digits');
  if (!Number.isSafeInteger(recordSeq) || recordSeq < 1)
    throw new RangeError(`receipt recordSeq ${recordSeq} is not a record number`);
  if (previous !== null && (previous.logId !== logId || recordSeq <= previous.recordSeq)) {
    throw new RangeError(`receipt for record ${recordSeq} cannot follow the receipt for record ${previous.recordSeq}`);
  }
  const fields = {
    logId,
    index: previous === null ? 0 : previous.index + 1,
    recordSeq,
    resultSha256: resultDigest,
    prevMac: previous === null ? firstPrevMac : previous.mac,
  };
  return { version: 1, ...fields, mac: key.hmacHex(receiptMacInput(fields)) };
}

function parseReceipt(value: unknown): Receipt | null {
  if (typeof value !== 'object' || value === null) return null;
  const fields = value as Record<string, unknown>;
  const { version, logId, index, recordSeq, resultSha256: result, prevMac, mac } = fields;
  if (Object.keys(fields).length !== 7 || version !== 1) return null;
  if (typeof logId !== 'string' || !hex32.test(logId)) return null;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) return null;
  if (typeof recordSeq !== 'number' || !Number.isSafeInteger(recordSeq) || recordSeq < 1) return null;
  if (typeof result !== 'string' || !hex64.test(result)) return null;
  if (typeof prevMac !== 'string' || !hex64.test(prevMac)) return null;
  if (typeof mac !== 'string' || !hex64.test(mac)) return null;
  return { version, logId, index, recordSeq, resultSha256: result, prevMac, mac };
}

/**
 * Verifies `value` as the receipt that follows `previous` (null: the first) in the chain of log
 * `logId`. Checks, in order: shape, MAC, log, chain position.
 */
export function verifyReceipt(
  key: MacKey,
  value: unknown,
  expected: { readonly logId: string; readonly previous: Receipt | null },
): ReceiptVerdict {
  const receipt = parseReceipt(value);
  if (receipt === null) return { ok: false, code: 'malformed', reason: 'not a version-1 crustcore receipt' };
  if (key.hmacHex(receiptMacInput(receipt)) !== receipt.mac) {
    return { ok: false, code: 'badMac', reason: "the receipt's MAC is invalid: it was forged or altered" };
  }
  if (receipt.logId !== expected.logId) {
    return {
      ok: false,
      code: 'wrongLog',
      reason: `the receipt belongs to log ${receipt.logId}, not to ${expected.logId}`,
    };
  }
  const previous = expected.previous;
  const wantIndex = previous === null ? 0 : previous.index + 1;
  const wantPrevMac = previous === null ? firstPrevMac : previous.mac;
  if (receipt.index !== wantIndex) {
    return {
      ok: false,
      code: 'outOfOrder',
      reason: `the receipt is number ${receipt.index} of its chain where ${wantIndex} belongs: it was replayed, dropped or reordered`,
    };
  }
  if (receipt.prevMac !== wantPrevMac) {
    return {
      ok: false,
      code: 'outOfOrder',
      reason: `the receipt does not follow receipt ${wantIndex - 1} of this chain: it was made for a different chain`,
    };
  }
  if (previous !== null && receipt.recordSeq <= previous.recordSeq) {
    return {
      ok: false,
      code: 'outOfOrder',
      reason: `the receipt names record ${receipt.recordSeq}, not after record ${previous.recordSeq} of the previous receipt`,
    };
  }
  return { ok: true, receipt };
}

/** Verifies a receipt chain in order; keeps the last accepted receipt. */
export class ReceiptChainVerifier {
  readonly #key: MacKey;
  readonly #logId: string;
  #previous: Receipt | null = null;

  constructor(key: MacKey, logId: string) {
    this.#key = key;
    this.#logId = logId;
  }

  /** Verifies the next receipt; on success it becomes the one the following receipt must follow. */
  accept(value: unknown): ReceiptVerdict {
    const verdict = verifyReceipt(this.#key, value, { logId: this.#logId, previous: this.#previous });
    if (verdict.ok) this.#previous = verdict.receipt;
    return verdict;
  }
}
