/**
 * Capability tokens: the documented HMAC chain, every caveat enforced with a refusal that names
 * it, strict parsing, offline attenuation, and the property that attenuation never widens authority.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actionKinds,
  attenuate,
  CapabilityVerifier,
  canonicalJson,
  mintCapability,
  parseCapability,
  PolicyLimits,
  verifyCapability,
} from '../../src/policy/index.js';
import type { CapabilityRequest, CapabilityVerdict, Caveat, JsonValue } from '../../src/policy/index.js';

const rootKey = new Uint8Array(32).fill(3);
const randomId = new Uint8Array(16).fill(0);
const identifier = `cap1-${'a'.repeat(26)}`;

const caveats: readonly Caveat[] = [
  { type: 'taskId', taskId: 'task-1' },
  { type: 'actions', actions: ['writeNewBranch', 'runVerify'] },
  { type: 'pathPrefix', pathPrefix: 'src' },
  { type: 'branchPrefix', branchPrefix: 'crustcore/' },
  { type: 'expiresAtMs', expiresAtMs: 10_000 },
];
const token = mintCapability({ rootKey, randomId, caveats });

const request: CapabilityRequest = {
  taskId: 'task-1',
  action: 'writeNewBranch',
  path: 'src/a.ts',
  branch: 'crustcore/fix-1',
  nowMs: 5000,
  usesSoFar: 0,
};

/** Builds a token by hand from the documented chain, so the test does not trust the code under test. */
function handMadeToken(chainCaveats: readonly JsonValue[], key: Uint8Array = rootKey): string {
  let signature = createHmac('sha256', key).update(`crustcore/capability-token/v1\n${identifier}`).digest();
  for (const caveat of chainCaveats) signature = createHmac('sha256', signature).update(canonicalJson(caveat)).digest();
  const json = canonicalJson({
    v: 1,
    id: identifier,
    caveats: [...chainCaveats],
    sig: signature.toString('base64url'),
  });
  return Buffer.from(json).toString('base64url');
}

function code(verdict: CapabilityVerdict): string {
  return verdict.ok ? 'ok' : `${verdict.code}@${String(verdict.caveatIndex)}`;
}

describe('mint and parse', () => {
  it('serializes the documented HMAC chain as base64url canonical JSON', () => {
    expect(token).toBe(handMadeToken(caveats as unknown as JsonValue[]));
    expect(parseCapability(token)).toEqual({
      ok: true,
      token: { identifier, caveats, signature: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown as string },
    });
  });

  it('refuses to mint without an expiry', () => {
    expect(() => mintCapability({ rootKey, randomId, caveats: [{ type: 'taskId', taskId: 'x' }] })).toThrow(
      'a capability is minted with an expiresAtMs caveat',
    );
  });

  it('refuses malformed tokens without throwing', () => {
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const sig = 'A'.repeat(43);
    const results = [
      parseCapability(''),
      parseCapability('a'.repeat(PolicyLimits.capabilityTokenCharsMax + 1)),
      parseCapability('not base64!'),
      parseCapability(Buffer.from('{').toString('base64url')),
      parseCapability(encode({ v: 2, id: identifier, caveats: [], sig })),
      parseCapability(encode({ v: 1, id: identifier, caveats: [], sig, extra: 1 })),
      parseCapability(encode({ v: 1, id: 'root', caveats: [], sig })),
      parseCapability(encode({ v: 1, id: identifier, caveats: [{ type: 'ipAddress', ipAddress: '1.2.3.4' }], sig })),
      parseCapability(encode({ v: 1, id: identifier, caveats: [{ type: 'usesMax', usesMax: 0 }], sig })),
      parseCapability(encode({ v: 1, id: identifier, caveats: [{ type: 'taskId', taskId: 't', more: 1 }], sig })),
      parseCapability(encode({ v: 1, id: identifier, caveats: [{ type: 'pathPrefix', pathPrefix: '../etc' }], sig })),
      parseCapability(Buffer.from(` {"caveats":[],"id":"${identifier}","sig":"${sig}","v":1}`).toString('base64url')),
    ].map((result) => (result.ok ? 'ok' : `${result.code}: ${result.reason}`));
    expect(results).toEqual([
      'malformed: token must be 1 to 8192 base64url characters',
      'malformed: token must be 1 to 8192 base64url characters',
      'malformed: token is not base64url',
      'malformed: token does not decode to JSON',
      'malformed: token must be {v: 1, id, caveats, sig}',
      'malformed: token must be {v: 1, id, caveats, sig}',
      'malformed: token id must look like cap1-<26 base32>, got "root"',
      'unknownCaveat: caveat 0 has unknown type "ipAddress"',
      'malformed: caveat 0: usesMax: expected a positive integer, got 0',
      'malformed: caveat 0: caveat taskId must have exactly the keys type and taskId',
      'malformed: caveat 0: pathPrefix: expected a normalized path (no empty, . or .. segments)',
      'malformed: token is not in canonical form',
    ]);
  });
});

describe('verifyCapability', () => {
  it('accepts a request every caveat allows', () => {
    expect(verifyCapability(rootKey, token, request)).toEqual({ ok: true });
  });

  it('names the failed caveat for each kind of overreach', () => {
    const verdicts = {
      otherTask: code(verifyCapability(rootKey, token, { ...request, taskId: 'task-2' })),
      otherAction: code(verifyCapability(rootKey, token, { ...request, action: 'push' })),
      otherPath: code(verifyCapability(rootKey, token, { ...request, path: 'srcx/a.ts' })),
      noPath: code(verifyCapability(rootKey, token, { ...request, path: undefined as never })),
      otherBranch: code(verifyCapability(rootKey, token, { ...request, branch: 'main' })),
      expired: code(verifyCapability(rootKey, token, { ...request, nowMs: 10_000 })),
      dotDotPath: code(verifyCapability(rootKey, token, { ...request, path: 'src/../.git/config' })),
    };
    expect(verdicts).toEqual({
      otherTask: 'taskIdMismatch@0',
      otherAction: 'actionNotAllowed@1',
      otherPath: 'pathOutsidePrefix@2',
      noPath: 'pathOutsidePrefix@2',
      otherBranch: 'branchOutsidePrefix@3',
      expired: 'expired@4',
      dotDotPath: 'invalidRequest@null',
    });
  });

  it('explains a refusal in one line', () => {
    expect(verifyCapability(rootKey, token, { ...request, action: 'push' })).toEqual({
      ok: false,
      code: 'actionNotAllowed',
      caveatIndex: 1,
      reason: 'caveat 1 (actions): push is not among writeNewBranch, runVerify',
    });
  });

  it('counts uses against usesMax with the verifier-supplied counter', () => {
    const limited = attenuate(token, { type: 'usesMax', usesMax: 2 });
    if (!limited.ok) throw new Error(limited.reason);
    expect(
      [0, 1, 2].map((usesSoFar) => code(verifyCapability(rootKey, limited.token, { ...request, usesSoFar }))),
    ).toEqual(['ok', 'ok', 'usesExhausted@5']);
  });

  it('refuses tokens that were forged, altered, truncated or minted under another key', () => {
    const chain = caveats as unknown as JsonValue[];
    const signature = (text: string): string => {
      const parsed = parseCapability(text);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.token.signature;
    };
    const withSignature = (chainCaveats: readonly JsonValue[], sig: string): string =>
      Buffer.from(canonicalJson({ v: 1, id: identifier, caveats: [...chainCaveats], sig })).toString('base64url');
    const results = {
      otherKey: code(verifyCapability(new Uint8Array(32).fill(4), token, request)),
      droppedCaveat: code(
        verifyCapability(rootKey, withSignature(chain.slice(0, 4).concat(chain.slice(5)), signature(token)), request),
      ),
      widenedCaveat: code(
        verifyCapability(
          rootKey,
          withSignature(
            [...chain.slice(0, 1), { type: 'actions', actions: ['push'] }, ...chain.slice(2)],
            signature(token),
          ),
          { ...request, action: 'push' },
        ),
      ),
      truncated: code(verifyCapability(rootKey, withSignature(chain.slice(0, 4), signature(token)), request)),
    };
    expect(results).toEqual({
      otherKey: 'badSignature@null',
      droppedCaveat: 'badSignature@null',
      widenedCaveat: 'badSignature@null',
      truncated: 'badSignature@null',
    });
  });

  it('refuses a correctly signed token that carries no expiry', () => {
    const noExpiry = handMadeToken([{ type: 'taskId', taskId: 'task-1' }]);
    expect(verifyCapability(rootKey, noExpiry, request)).toEqual({
      ok: false,
      code: 'missingExpiry',
      caveatIndex: null,
      reason: 'token has no expiresAtMs caveat; tokens without an expiry are never valid',
    });
  });

  it('fails closed on a correctly signed token with an unknown caveat type', () => {
    const unknown = handMadeToken([
      { type: 'expiresAtMs', expiresAtMs: 10_000 },
      { type: 'ipAddress', ipAddress: 'x' },
    ]);
    expect(code(verifyCapability(rootKey, unknown, request))).toBe('unknownCaveat@1');
  });
});

describe('attenuate', () => {
  it('narrows a token offline and the result still verifies where it should', () => {
    const narrower = attenuate(token, { type: 'pathPrefix', pathPrefix: 'src/a.ts' });
    if (!narrower.ok) throw new Error(narrower.reason);
    expect(code(verifyCapability(rootKey, narrower.token, request))).toBe('ok');
    expect(code(verifyCapability(rootKey, narrower.token, { ...request, path: 'src/b.ts' }))).toBe(
      'pathOutsidePrefix@5',
    );
  });

  it('refuses an invalid caveat and a token at the caveat limit', () => {
    expect(attenuate(token, { type: 'usesMax', usesMax: -1 })).toEqual({
      ok: false,
      code: 'malformed',
      caveatIndex: 5,
      reason: 'new caveat: usesMax: expected a positive integer, got -1',
    });
    let full = token;
    for (let index = caveats.length; index < PolicyLimits.capabilityCaveatsMax; index += 1) {
      const next = attenuate(full, { type: 'usesMax', usesMax: 5 });
      if (!next.ok) throw new Error(next.reason);
      full = next.token;
    }
    expect(code(verifyCapability(rootKey, full, request))).toBe('ok');
    const over = attenuate(full, { type: 'usesMax', usesMax: 5 });
    expect(over.ok ? 'ok' : over.code).toBe('malformed');
  });
});

const caveatArbitrary: fc.Arbitrary<Caveat> = fc.oneof(
  fc.constantFrom('t1', 't2').map((taskId): Caveat => ({ type: 'taskId', taskId })),
  fc.subarray([...actionKinds], { minLength: 1 }).map((actions): Caveat => ({ type: 'actions', actions })),
  fc.constantFrom('src', 'src/a', 'lib').map((pathPrefix): Caveat => ({ type: 'pathPrefix', pathPrefix })),
  fc
    .constantFrom('crustcore/', 'crustcore/x', 'main')
    .map((branchPrefix): Caveat => ({ type: 'branchPrefix', branchPrefix })),
  fc.constantFrom(500, 1000, 1500).map((expiresAtMs): Caveat => ({ type: 'expiresAtMs', expiresAtMs })),
  fc.integer({ min: 1, max: 3 }).map((usesMax): Caveat => ({ type: 'usesMax', usesMax })),
);

const requestArbitrary: fc.Arbitrary<CapabilityRequest> = fc
  .record({
    taskId: fc.constantFrom('t1', 't2'),
    action: fc.constantFrom(...actionKinds),
    path: fc.option(fc.constantFrom('src/a', 'src/a/b.ts', 'src/b.ts', 'lib/x', 'srcx'), { nil: undefined }),
    branch: fc.option(fc.constantFrom('crustcore/x1', 'crustcore/y', 'main', 'mainline'), { nil: undefined }),
    nowMs: fc.constantFrom(0, 499, 500, 999, 1000, 2000),
    usesSoFar: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ path, branch, ...rest }): CapabilityRequest => ({
    ...rest,
    ...(path === undefined ? {} : { path }),
    ...(branch === undefined ? {} : { branch }),
  }));

describe('attenuation property', () => {
  it('never widens authority: whatever the narrower token allows, the original allows too', () => {
    let narrowAccepted = 0;
    fc.assert(
      fc.property(
        fc.array(caveatArbitrary, { maxLength: 4 }),
        fc.constantFrom(500, 1000, 1500),
        fc.array(caveatArbitrary, { minLength: 1, maxLength: 4 }),
        requestArbitrary,
        (base, expiresAtMs, added, attempted) => {
          const original = mintCapability({
            rootKey,
            randomId,
            caveats: [...base, { type: 'expiresAtMs', expiresAtMs }],
          });
          let narrower = original;
          for (const caveat of added) {
            const next = attenuate(narrower, caveat);
            expect(next.ok).toBe(true);
            if (next.ok) narrower = next.token;
          }
          const narrowVerdict = verifyCapability(rootKey, narrower, attempted);
          if (!narrowVerdict.ok) return;
          narrowAccepted += 1;
          expect(verifyCapability(rootKey, original, attempted)).toEqual({ ok: true });
        },
      ),
      { numRuns: 3000 },
    );
    // The implication is only tested when the narrower token accepts something.
    expect(narrowAccepted).toBeGreaterThan(30);
  });
});

describe('CapabilityVerifier', () => {
  it('gives the same verdict as verifyCapability, on first sight and when it remembers the token', () => {
    const verifier = new CapabilityVerifier(rootKey, { entriesMax: 2 });
    const requests: readonly CapabilityRequest[] = [
      request,
      { ...request, nowMs: 10_000 },
      { ...request, action: 'push' },
      { ...request, taskId: 'task-2' },
      request,
    ];
    for (const attempted of requests) {
      expect(verifier.verify(token, attempted)).toEqual(verifyCapability(rootKey, token, attempted));
    }
  });

  it('never remembers a token that failed its signature check', () => {
    const verifier = new CapabilityVerifier(new Uint8Array(32).fill(4));
    expect(code(verifier.verify(token, request))).toBe('badSignature@null');
    expect(code(verifier.verify(token, request))).toBe('badSignature@null');
  });

  it('agrees with verifyCapability for random tokens and requests, with a tiny memory', () => {
    const verifier = new CapabilityVerifier(rootKey, { entriesMax: 3 });
    fc.assert(
      fc.property(fc.array(caveatArbitrary, { maxLength: 4 }), requestArbitrary, (extra, attempted) => {
        const minted = mintCapability({
          rootKey,
          randomId,
          caveats: [...extra, { type: 'expiresAtMs', expiresAtMs: 1000 }],
        });
        expect(verifier.verify(minted, attempted)).toEqual(verifyCapability(rootKey, minted, attempted));
        expect(verifier.verify(minted, attempted)).toEqual(verifyCapability(rootKey, minted, attempted));
      }),
      { numRuns: 500 },
    );
  });
});
