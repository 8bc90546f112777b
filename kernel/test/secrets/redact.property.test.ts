/**
 * Properties of the redaction boundary, over random text, random secrets and random chunking:
 * - no planted secret, in any form `encodingsOf` lists, survives redaction;
 * - a stream gives exactly the one-shot output, however the text is cut into chunks;
 * - redacting twice changes nothing;
 * - text that holds no secret form, no token-shape trigger and no marker comes out unchanged.
 * Secret values avoid `[` and `]` (so no form can straddle a marker); see `createRedactor`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodingsOf } from '../../src/secrets/encodings.js';
import { createRedactor } from '../../src/secrets/redact.js';
import type { Redactor } from '../../src/secrets/redact.js';
import { tokenShapes } from '../../src/secrets/token-shapes.js';

const secretValue = fc
  .string({ unit: 'binary', minLength: 8, maxLength: 40 })
  .filter((value) => !value.includes('[') && !value.includes(']'));
const secretValues = fc.uniqueArray(secretValue, { minLength: 1, maxLength: 5 });
const noise = fc.string({ unit: 'binary', maxLength: 60 });
const tokenSamples = [
  'AKIAIOSFODNN7EXAMPLE',
  `ghp_${'a1B2'.repeat(9)}`,
  `sk-ant-api03-${'Z9_x'.repeat(8)}`,
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
  'Authorization: Bearer abcdef.123',
  'https://me:pw123@host/x',
  '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----',
];
const triggers = tokenShapes.flatMap((shape) => shape.triggers.map((trigger) => trigger.toLowerCase()));

const named = (values: readonly string[]) => values.map((value, index) => ({ name: `k${index}`, value }));
const markersOf = (names: readonly string[]): string =>
  [...names, ...tokenShapes.map((shape) => shape.name)].map((name) => `[REDACTED:${name}]`).join(' ');

function streamed(redactor: Redactor, text: string, cuts: readonly number[]): string {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const stream = redactor.stream();
  let output = '';
  let previous = 0;
  for (const point of points) {
    output += stream.push(text.slice(previous, point));
    previous = point;
  }
  return output + stream.push(text.slice(previous)) + stream.end();
}

/** Random text with secrets (in random forms) and token samples planted between random noise. */
const planted = secretValues.chain((values) =>
  fc
    .array(
      fc.tuple(
        noise,
        fc.nat(values.length - 1),
        fc.nat(16),
        fc.option(fc.constantFrom(...tokenSamples), { nil: undefined }),
      ),
      { minLength: 1, maxLength: 8 },
    )
    .map((plants) => {
      const text = plants
        .map(([before, secretIndex, formIndex, token]) => {
          const forms = encodingsOf(values[secretIndex] ?? '');
          const form = forms[formIndex % forms.length]?.text ?? '';
          return `${before}${form}${token ?? ''}`;
        })
        .join('');
      return { values, text };
    }),
);

describe('redaction properties', () => {
  it('never lets a planted secret or any of its forms through', () => {
    fc.assert(
      fc.property(planted, ({ values, text }) => {
        const forms = values.flatMap((value) => encodingsOf(value).map((form) => form.text));
        const markers = markersOf(named(values).map((secret) => secret.name));
        fc.pre(forms.every((form) => !markers.includes(form)));
        const output = createRedactor(named(values)).redact(text);
        for (const form of forms) expect(output).not.toContain(form);
      }),
      { numRuns: 300 },
    );
  });

  it('streams give the one-shot output for any chunking', () => {
    fc.assert(
      fc.property(planted, fc.array(fc.nat(), { maxLength: 12 }), ({ values, text }, cuts) => {
        const redactor = createRedactor(named(values));
        expect(streamed(redactor, text, cuts)).toBe(redactor.redact(text));
      }),
      { numRuns: 300 },
    );
  });

  it('streams agree with one-shot on text dense with partial triggers', () => {
    const pieces = fc.constantFrom(
      'sk-',
      'eyJ',
      'A',
      'KIA',
      'SIA',
      'ghp_',
      'a',
      '.',
      ' ',
      '\n',
      '\\n',
      '-----BEGIN ',
      'RSA ',
      'PRIVATE KEY-----',
      '-----END ',
      'Bearer ',
      'Authorization: ',
      'https://',
      ':',
      '@',
      'x',
      '0',
      'Z',
      '_',
      '[REDACTED:',
      ']',
      'k0',
      '=',
      '/',
      '+',
      'secretvalue',
      'c2VjcmV0dmFsdWU',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 20 }), (parts, cuts) => {
        const text = parts.join('');
        const redactor = createRedactor([{ name: 'k0', value: 'secretvalue' }]);
        const once = redactor.redact(text);
        expect(streamed(redactor, text, cuts)).toBe(once);
        expect(redactor.redact(once)).toBe(once);
        expect(once).not.toContain('secretvalue');
        expect(once).not.toContain('c2VjcmV0dmFsdWU');
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(planted, ({ values, text }) => {
        const redactor = createRedactor(named(values));
        const once = redactor.redact(text);
        expect(redactor.redact(once)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves text without secrets, triggers or markers unchanged', () => {
    fc.assert(
      fc.property(secretValues, fc.string({ unit: 'binary', maxLength: 400 }), (values, text) => {
        const lower = text.toLowerCase();
        fc.pre(!triggers.some((trigger) => lower.includes(trigger)) && !text.includes('[REDACTED:'));
        fc.pre(values.every((value) => encodingsOf(value).every((form) => !text.includes(form.text))));
        expect(createRedactor(named(values)).redact(text)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
