/**
 * Receipts form a MAC chain bound to one log: a forged or altered receipt, one from another log,
 * and one replayed or out of order are each rejected with their own code and reason.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ReceiptChainVerifier,
  firstPrevMac,
  issueReceipt,
  receiptsKeyName,
  resultSha256,
  verifyReceipt,
  type Receipt,
} from '../../src/log/receipts.js';
import type { MacKey } from '../../src/host/state-dir.js';
import { scratch, type Scratch } from './log-fixture.js';

const logA = 'aa'.repeat(16);
const logB = 'bb'.repeat(16);

let at: Scratch;
let key: MacKey;
let chain: Receipt[];
beforeEach(() => {
  at = scratch();
  key = at.stateDir.loadOrCreateKey(receiptsKeyName);
  chain = [];
  let previous: Receipt | null = null;
  for (const [seq, text] of [
    [3, 'tool output'],
    [5, 'verify: exit 0'],
    [9, 'sidecar result'],
  ] as const) {
    previous = issueReceipt(key, logA, previous, seq, resultSha256(text));
    chain.push(previous);
  }
});
afterEach(() => at.cleanup());

describe('receipts', () => {
  it('issues a chain whose links name the log, the record and the previous MAC', () => {
    const [first, second] = chain;
    expect(first).toEqual({
      version: 1,
      logId: logA,
      index: 0,
      recordSeq: 3,
      resultSha256: resultSha256('tool output'),
      prevMac: firstPrevMac,
      mac: first?.mac,
    });
    expect(second?.prevMac).toBe(first?.mac);
    expect(first?.mac).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a chain verifies in order', () => {
    const verifier = new ReceiptChainVerifier(key, logA);
    expect(chain.map((receipt) => verifier.accept(receipt))).toEqual(chain.map((receipt) => ({ ok: true, receipt })));
  });

  it('rejects a forged MAC and an altered result digest', () => {
    const first = chain[0] as Receipt;
    const forged = { ...first, mac: 'f'.repeat(64) };
    const altered = { ...first, resultSha256: resultSha256('something else') };
    const expected = { ok: false, code: 'badMac', reason: "the receipt's MAC is invalid: it was forged or altered" };
    expect(verifyReceipt(key, forged, { logId: logA, previous: null })).toEqual(expected);
    expect(verifyReceipt(key, altered, { logId: logA, previous: null })).toEqual(expected);
  });

  it('rejects a receipt under another key', () => {
    const other = scratch();
    try {
      const otherKey = other.stateDir.loadOrCreateKey(receiptsKeyName);
      const receipt = issueReceipt(otherKey, logA, null, 3, resultSha256('x'));
      expect(verifyReceipt(key, receipt, { logId: logA, previous: null })).toMatchObject({ ok: false, code: 'badMac' });
    } finally {
      other.cleanup();
    }
  });

  it('rejects a receipt from another log', () => {
    const foreign = issueReceipt(key, logB, null, 3, resultSha256('tool output'));
    expect(verifyReceipt(key, foreign, { logId: logA, previous: null })).toEqual({
      ok: false,
      code: 'wrongLog',
      reason: `the receipt belongs to log ${logB}, not to ${logA}`,
    });
  });

  it('rejects a replayed receipt and one out of chain order', () => {
    const verifier = new ReceiptChainVerifier(key, logA);
    expect(verifier.accept(chain[0]).ok).toBe(true);
    expect(verifier.accept(chain[0])).toEqual({
      ok: false,
      code: 'outOfOrder',
      reason: 'the receipt is number 0 of its chain where 1 belongs: it was replayed, dropped or reordered',
    });
    expect(verifier.accept(chain[2])).toEqual({
      ok: false,
      code: 'outOfOrder',
      reason: 'the receipt is number 2 of its chain where 1 belongs: it was replayed, dropped or reordered',
    });
    expect(verifier.accept(chain[1]).ok).toBe(true);
  });

  it('rejects a receipt from a different chain at the right position', () => {
    const otherFirst = issueReceipt(key, logA, null, 2, resultSha256('other'));
    const otherSecond = issueReceipt(key, logA, otherFirst, 4, resultSha256('other 2'));
    expect(verifyReceipt(key, otherSecond, { logId: logA, previous: chain[0] ?? null })).toEqual({
      ok: false,
      code: 'outOfOrder',
      reason: 'the receipt does not follow receipt 0 of this chain: it was made for a different chain',
    });
  });

  it('rejects what is not a receipt', () => {
    for (const value of [null, 'receipt', { ...chain[0], extra: 1 }, { ...chain[0], version: 2 }]) {
      expect(verifyReceipt(key, value, { logId: logA, previous: null })).toEqual({
        ok: false,
        code: 'malformed',
        reason: 'not a version-1 crustcore receipt',
      });
    }
  });
});
