/** The cost of one completion: exact integer micros, rounded up, at the configured prices. */
import { Limits as ProtocolLimits } from '@crustcore/protocol';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { completionCostMicros } from '../../src/host/agent-model.js';
import { ConfigLimits } from '../../src/host/config.js';

const price = (input: number, output: number) => ({
  inputMicrosPerMillionTokens: input,
  outputMicrosPerMillionTokens: output,
});

describe('completionCostMicros', () => {
  test.each([
    ['no pricing is free', { inputTokens: 1000, outputTokens: 1000 }, undefined, 0],
    ['zero prices are free', { inputTokens: 1000, outputTokens: 1000 }, price(0, 0), 0],
    ['whole micros', { inputTokens: 1_000_000, outputTokens: 2_000_000 }, price(3_000_000, 15_000_000), 33_000_000],
    ['a fraction rounds up', { inputTokens: 1, outputTokens: 0 }, price(1, 0), 1],
    ['input and output add before rounding', { inputTokens: 234, outputTokens: 7 }, price(2_500_000, 1_500_000), 596],
    ['no tokens cost nothing', { inputTokens: 0, outputTokens: 0 }, price(3_000_000, 15_000_000), 0],
    [
      'the largest usage at the largest price stays exact',
      { inputTokens: ProtocolLimits.tokensMax, outputTokens: ProtocolLimits.tokensMax },
      price(ConfigLimits.priceMicrosPerMillionTokensMax, ConfigLimits.priceMicrosPerMillionTokensMax),
      200_000_000_000,
    ],
  ])('%s', (_name, usage, pricing, micros) => {
    expect(completionCostMicros(usage, pricing)).toBe(micros);
  });

  test('equals the exact rational cost rounded up, for every usage and price within bounds', () => {
    const tokens = fc.integer({ min: 0, max: ProtocolLimits.tokensMax });
    const prices = fc.integer({ min: 0, max: ConfigLimits.priceMicrosPerMillionTokensMax });
    fc.assert(
      fc.property(tokens, tokens, prices, prices, (inputTokens, outputTokens, input, output) => {
        const micros = completionCostMicros({ inputTokens, outputTokens }, price(input, output));
        const exact = BigInt(inputTokens) * BigInt(input) + BigInt(outputTokens) * BigInt(output);
        // ceil(exact / 1e6) is the one integer m with (m - 1) * 1e6 < exact <= m * 1e6.
        expect(Number.isSafeInteger(micros)).toBe(true);
        expect(BigInt(micros) * 1_000_000n >= exact).toBe(true);
        expect(micros === 0 || BigInt(micros - 1) * 1_000_000n < exact).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
