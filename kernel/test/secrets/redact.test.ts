/**
 * Invariant: the redaction boundary replaces every known secret in each form `encodingsOf` lists,
 * and every well-known token shape, with `[REDACTED:name]`; it leaves other text alone; a stream
 * gives the one-shot output however the text is split; matching stays linear-ish on hostile input.
 * Method: whole-string expectations on hand-written cases, every split point for streams, and
 * 1 MiB adversarial inputs (the test timeout is the only clock).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodingsOf, leakedForms, makeCanary } from '../../src/secrets/canary.js';
import { createRedactor, redactorForSecrets } from '../../src/secrets/redact.js';
import { Secret } from '../../src/secrets/secret.js';

const secret = { name: 'db-password', value: 'hunter2/Sup3r+Secret=Value' };
const redactor = createRedactor([secret]);
const streamed = (text: string, chunks: readonly number[]): string => {
  const stream = redactor.stream();
  let output = '';
  let offset = 0;
  for (const size of chunks) {
    output += stream.push(text.slice(offset, offset + size));
    offset += size;
  }
  return output + stream.push(text.slice(offset)) + stream.end();
};

const shapeSamples: ReadonlyArray<readonly [string, string]> = [
  ['key=AKIAIOSFODNN7EXAMPLE;', 'key=[REDACTED:aws-access-key-id];'],
  ['ASIAY34FZKBOKMUTVV7A', '[REDACTED:aws-access-key-id]'],
  [
    `aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`,
    'aws_secret_access_key = [REDACTED:aws-secret-access-key]',
  ],
  [`token ghp_${'a1B2'.repeat(9)} end`, 'token [REDACTED:github-token] end'],
  [
    `gho_${'x'.repeat(36)} ghu_${'y'.repeat(36)} ghs_${'z'.repeat(36)} ghr_${'w'.repeat(36)}`,
    '[REDACTED:github-token] [REDACTED:github-token] [REDACTED:github-token] [REDACTED:github-token]',
  ],
  [`github_pat_11ABCDEFG0123456789_${'q'.repeat(59)}`, '[REDACTED:github-token]'],
  [`glpat-${'Ab3_-'.repeat(4)}`, '[REDACTED:gitlab-token]'],
  ['xoxb-123456789012-abcdefABCDEF', '[REDACTED:slack-token]'],
  [`npm_${'N0'.repeat(18)}`, '[REDACTED:npm-token]'],
  [`sk-${'A1'.repeat(24)}`, '[REDACTED:openai-key]'],
  [`"sk-proj-${'p_-Q'.repeat(10)}"`, '"[REDACTED:openai-key]"'],
  [`sk-ant-api03-${'Z9_x'.repeat(20)}AA`, '[REDACTED:anthropic-key]'],
  [`AIza${'S'.repeat(35)}`, '[REDACTED:google-api-key]'],
  [`sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`, '[REDACTED:stripe-key]'],
  [
    'jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok',
    'jwt=[REDACTED:jwt] ok',
  ],
  ['Authorization: Bearer abc.def-ghi', 'Authorization: Bearer [REDACTED:authorization-header]'],
  ['curl -H "authorization: basic dXNlcjpwYXNz" x', 'curl -H "authorization: basic [REDACTED:authorization-header]" x'],
  ['{"Authorization":"Token 0123456789abcdef"}', '{"Authorization":"Token [REDACTED:authorization-header]"}'],
  ['Proxy-Authorization: Basic Zm9vOmJhcg==', 'Proxy-Authorization: Basic [REDACTED:authorization-header]'],
  ['use Bearer 0123456789abcdefghijABCDEF now', 'use Bearer [REDACTED:bearer-token] now'],
  ['postgres://app:p%40ss-w0rd@db:5432/main', 'postgres://app:[REDACTED:url-password]@db:5432/main'],
  [
    'git clone https://user:tok3n@example.com/r.git',
    'git clone https://user:[REDACTED:url-password]@example.com/r.git',
  ],
];

const nearMisses = [
  'sk-learn-is-a-python-library and sk-short',
  'AKIA is a prefix; AKIAshort; xAKIAIOSFODNN7EXAMPLE is part of a word',
  'ghp_tooShort eyJ.eyJ. eyJhbGciOiJIUzI1NiJ9 alone',
  'Bearer tokens are explained here; Authorization: Bearer',
  'https://example.com/path:with@colon and http://host:8080/',
  '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----',
  '[REDACTED:someone-else] is a marker we did not write',
  'plain text, numbers 1234567890, unicode ünïcödé 🚀',
];

describe('createRedactor: known secrets', () => {
  it('replaces the value and each of its encoded forms', () => {
    const value = 'Pa"ss~w>rd? ok/ÿ>>>';
    const forms = encodingsOf(value);
    expect(forms.map((form) => form.encoding)).toEqual([
      'exact',
      'json-escaped',
      'base64',
      'base64-unpadded',
      'base64url',
      'base64url-unpadded',
      'base64-offset-0',
      'base64url-offset-0',
      'base64-offset-1',
      'base64url-offset-1',
      'base64-offset-2',
      'base64url-offset-2',
      'hex-lower',
      'hex-upper',
      'uri-component',
      'uri-component-lower',
      'form-urlencoded',
    ]);
    const everyForm = createRedactor([{ name: 'every-form', value }]);
    for (const form of forms) expect(everyForm.redact(`<${form.text}>`)).toBe('<[REDACTED:every-form]>');
    for (const form of encodingsOf(secret.value))
      expect(redactor.redact(`<${form.text}>`)).toBe('<[REDACTED:db-password]>');
  });

  it('finds the value inside a longer base64 blob at every byte offset', () => {
    for (let before = 0; before < 6; before++) {
      for (const encoding of ['base64', 'base64url'] as const) {
        const blob = Buffer.concat([randomBytes(before), Buffer.from(secret.value), randomBytes(5)]).toString(encoding);
        const output = redactor.redact(`data:${blob}`);
        expect(output).toContain('[REDACTED:db-password]');
        expect(leakedForms(output, secret.value)).toEqual([]);
      }
    }
  });

  it('also covers JSON escaping and form encoding when they differ', () => {
    const quoted = createRedactor([{ name: 'q', value: 'pa ss"wo\\rd é' }]);
    expect(quoted.redact(JSON.stringify({ password: 'pa ss"wo\\rd é' }))).toBe('{"password":"[REDACTED:q]"}');
    expect(quoted.redact(`a=${new URLSearchParams({ p: 'pa ss"wo\\rd é' }).toString()}`)).toBe('a=p=[REDACTED:q]');
  });

  it('documents its floors: under 4 characters nothing, under 8 only the exact value', () => {
    const short = createRedactor([
      { name: 'tiny', value: 'abc' },
      { name: 'small', value: 'pin-42' },
      { name: 'eight', value: 'abcdefgh' },
    ]);
    expect(short.redact('abc pin-42 cGluLTQy abcdefgh YWJjZGVmZ2g=')).toBe(
      'abc [REDACTED:small] cGluLTQy [REDACTED:eight] [REDACTED:eight]',
    );
    expect(encodingsOf('abc')).toEqual([]);
    expect(encodingsOf('pin-42')).toEqual([{ encoding: 'exact', text: 'pin-42' }]);
  });

  it('a fake marker does not shield a secret', () => {
    expect(redactor.redact(`[REDACTED:${secret.value}]`)).toBe('[REDACTED:[REDACTED:db-password]]');
  });

  it('prefers the longest form and names the secret even inside a token shape', () => {
    const named = createRedactor([{ name: 'gh', value: `ghp_${'k'.repeat(36)}` }]);
    expect(named.redact(`x ghp_${'k'.repeat(36)} y`)).toBe('x [REDACTED:gh] y');
  });

  it('refuses bad names and over-long values', () => {
    expect(() => createRedactor([{ name: 'has space', value: 'xxxxxxxxxx' }])).toThrow(TypeError);
    expect(() => createRedactor([{ name: 'big', value: 'x'.repeat(20_000) }])).toThrow(RangeError);
  });

  it('redactorForSecrets exposes each secret once, for the boundary', () => {
    const purposes: string[] = [];
    const live = new Secret('api-key', 'live-api-key-123456', {
      onExpose: (name, purpose) => purposes.push(`${name}: ${purpose}`),
    });
    expect(redactorForSecrets([live]).redact('k=live-api-key-123456')).toBe('k=[REDACTED:api-key]');
    expect(purposes).toEqual(['api-key: redaction boundary']);
  });

  it('redactJson redacts keys, values and Secrets deep inside data', () => {
    const live = new Secret('db-password', secret.value);
    expect(
      redactor.redactJson({
        [secret.value]: [secret.value, 1, true, null, { live }],
        note: `Bearer ${'t'.repeat(24)}`,
        at: new Date(0),
      }),
    ).toEqual({
      '[REDACTED:db-password]': ['[REDACTED:db-password]', 1, true, null, { live: '[REDACTED:db-password]' }],
      note: 'Bearer [REDACTED:bearer-token]',
      at: '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('createRedactor: token shapes', () => {
  it.each(shapeSamples)('redacts %j', (input, expected) => {
    expect(redactor.redact(input)).toBe(expected);
    expect(redactor.redact(expected)).toBe(expected);
  });

  it('redacts private keys: PEM, JSON-escaped, and truncated', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString();
    for (const pem of [pkcs1, pkcs8, ec]) {
      expect(redactor.redact(`before\n${pem}after`)).toBe('before\n[REDACTED:private-key]\nafter');
      expect(redactor.redact(JSON.stringify({ key: pem }))).toBe('{"key":"[REDACTED:private-key]\\n"}');
      const truncated = pem.slice(0, pem.length / 2);
      expect(redactor.redact(`${truncated}\n[output truncated]`)).toBe('[REDACTED:private-key]\n[output truncated]');
    }
  });

  it('redacts a token-like string in an untrusted comment (red-team H35)', () => {
    const comment = `MERGE THIS NOW!!! use ghp_${'Z'.repeat(36)} and xoxp-1234567890-abcdef to deploy`;
    expect(redactor.redact(comment)).toBe(
      'MERGE THIS NOW!!! use [REDACTED:github-token] and [REDACTED:slack-token] to deploy',
    );
  });

  it('leaves near misses and ordinary text alone', () => {
    for (const text of nearMisses) expect(redactor.redact(text)).toBe(text);
  });
});

describe('createRedactor: streams', () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'sec1', format: 'pem' })
    .toString();
  const text = [
    ...shapeSamples.map(([input]) => input),
    ...nearMisses,
    ...encodingsOf(secret.value).map((form) => `v=${form.text}`),
    pem,
  ].join('\n');

  it('gives the one-shot output for every two-chunk split', () => {
    const expected = redactor.redact(text);
    for (let split = 0; split <= text.length; split++) expect(streamed(text, [split])).toBe(expected);
  });

  it('gives the one-shot output one character at a time', () => {
    expect(
      streamed(
        text,
        Array.from({ length: text.length }, () => 1),
      ),
    ).toBe(redactor.redact(text));
  });

  it('emits text that cannot start a match without waiting for more', () => {
    const stream = redactor.stream();
    expect(stream.push('plain words\n')).toBe('plain words\n');
    expect(stream.push('pass=hunter2/Sup')).toBe('pass=');
    expect(stream.push('3r+Secret=Value;')).toBe('[REDACTED:db-password];');
    expect(stream.end()).toBe('');
  });
});

describe('createRedactor: hostile input', () => {
  const mib = 1024 * 1024;
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['repeated JWT starts', 'eyJ'.repeat(mib / 3)],
    ['JWT starts split by dots', 'eyJabcdefgh.'.repeat(mib / 12)],
    ['private key headers', '-----BEGIN RSA PRIVATE KEY-----'.repeat(mib / 32)],
    ['authorization prefixes', 'Authorization: '.repeat(mib / 15)],
    ['URL credentials without @', 'https://a:'.repeat(mib / 10)],
    ['sk- runs', 'sk-'.repeat(mib / 3)],
    ['one long token run', 'A'.repeat(mib)],
    ['almost the secret', 'hunter2/Sup3r+Secret=Valu'.repeat(mib / 25)],
    ['almost a marker', '[REDACTED:db-passwor'.repeat(mib / 20)],
  ];
  it.each(cases)('%s: finishes and matches the stream', (_label, input) => {
    const output = redactor.redact(input);
    expect(output.length).toBeGreaterThan(0);
    expect(
      streamed(
        input,
        Array.from({ length: 16 }, () => input.length / 16),
      ),
    ).toBe(output);
  });
});

describe('canary', () => {
  it('makes unique values whose every form is caught', () => {
    const canaries = [makeCanary('canary-a'), makeCanary('canary-a')];
    expect(canaries[0]?.value).not.toBe(canaries[1]?.value);
    const canary = canaries[0] ?? makeCanary('canary-a');
    const forms = encodingsOf(canary.value);
    expect(new Set(forms.map((form) => form.text)).size).toBe(forms.length);
    const output = createRedactor([canary]).redact(forms.map((form) => `${form.encoding}: ${form.text}`).join('\n'));
    expect(leakedForms(output, canary.value)).toEqual([]);
    expect(leakedForms(`oops ${forms[3]?.text ?? ''}`, canary.value).length).toBeGreaterThan(0);
  });
});
