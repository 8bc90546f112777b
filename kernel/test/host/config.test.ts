/** The user configuration: strict validation that names the JSON path, and a schema kept in step. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError, ConfigLimits, defaultConfig, loadConfig, parseConfig } from '../../src/host/config.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

interface SchemaNode {
  readonly properties?: Record<string, SchemaNode>;
  readonly additionalProperties?: SchemaNode;
  readonly required?: readonly string[];
}

const schema = JSON.parse(readFileSync(new URL('../../../docs/config.schema.json', import.meta.url), 'utf8')) as {
  properties: Record<string, SchemaNode>;
};

describe('loadConfig', () => {
  test('an absent file is the default configuration', () => {
    dir = mkdtempSync(join(tmpdir(), 'config-'));
    expect(loadConfig({ XDG_CONFIG_HOME: dir })).toEqual(defaultConfig);
  });

  test('CRUSTCORE_CONFIG naming a missing file is an error', () => {
    expect(() => loadConfig({ CRUSTCORE_CONFIG: '/nonexistent/config.json' })).toThrow(ConfigError);
  });

  test('a full file is read whole', () => {
    dir = mkdtempSync(join(tmpdir(), 'config-'));
    const path = join(dir, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({
        reviewMode: 'auto',
        secrets: { env: { openai: 'OPENAI_API_KEY' }, vault: '/v/vault.bin', keyring: true },
        protectedPaths: { allow: ['docs/**'], extra: [{ rule: 'migrations', globs: ['db/**'] }] },
        sidecars: { net: { command: ['node', '/opt/net.js'] } },
        providers: {
          openai: {
            kind: 'openai-compatible',
            baseUrl: 'https://api.openai.com/v1',
            secret: 'openai',
            pricing: { inputMicrosPerMillionTokens: 3_000_000, outputMicrosPerMillionTokens: 15_000_000 },
          },
          local: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1', local: true },
        },
      }),
    );
    expect(loadConfig({ CRUSTCORE_CONFIG: path })).toEqual({
      path,
      reviewMode: 'auto',
      secrets: {
        env: { openai: 'OPENAI_API_KEY' },
        vault: '/v/vault.bin',
        vaultPassphraseEnv: 'CRUSTCORE_VAULT_PASSPHRASE',
        keyring: true,
      },
      protectedPaths: { allow: ['docs/**'], extra: [{ rule: 'migrations', globs: ['db/**'] }] },
      rulesFile: null,
      sidecars: { net: ['node', '/opt/net.js'] },
      providers: {
        openai: {
          kind: 'openai-compatible',
          baseUrl: 'https://api.openai.com/v1',
          secret: 'openai',
          local: false,
          pricing: { inputMicrosPerMillionTokens: 3_000_000, outputMicrosPerMillionTokens: 15_000_000 },
        },
        local: {
          kind: 'openai-compatible',
          baseUrl: 'http://127.0.0.1:8000/v1',
          secret: null,
          local: true,
          pricing: null,
        },
      },
    });
  });
});

const pricing = { inputMicrosPerMillionTokens: 3_000_000, outputMicrosPerMillionTokens: 15_000_000 };

describe('provider pricing', () => {
  test('is read whole at the bounds, and absent pricing is null', () => {
    const config = parseConfig(
      {
        providers: {
          free: { kind: 'mock', pricing: { inputMicrosPerMillionTokens: 0, outputMicrosPerMillionTokens: 0 } },
          dear: {
            kind: 'anthropic',
            pricing: { inputMicrosPerMillionTokens: 1_000_000_000, outputMicrosPerMillionTokens: 1_000_000_000 },
          },
          plain: { kind: 'mock' },
        },
      },
      'c.json',
    );
    expect(config.providers).toEqual({
      free: {
        kind: 'mock',
        baseUrl: null,
        secret: null,
        local: false,
        pricing: { inputMicrosPerMillionTokens: 0, outputMicrosPerMillionTokens: 0 },
      },
      dear: {
        kind: 'anthropic',
        baseUrl: null,
        secret: null,
        local: false,
        pricing: { inputMicrosPerMillionTokens: 1_000_000_000, outputMicrosPerMillionTokens: 1_000_000_000 },
      },
      plain: { kind: 'mock', baseUrl: null, secret: null, local: false, pricing: null },
    });
  });
});

describe('errors name the JSON path', () => {
  test.each([
    [
      { reviewMode: 'maybe' },
      'config c.json: reviewMode: expected "auto" | "approve-before-merge" | "approve-before-execute" | "approve-every-step", got "maybe"',
    ],
    [
      { colour: true },
      'config c.json: colour: unknown key; expected one of reviewMode, secrets, protectedPaths, rulesFile, sidecars, providers',
    ],
    [{ secrets: { env: { k: 'not a var' } } }, 'config c.json: secrets.env.k: expected an environment variable name'],
    [
      { protectedPaths: { extra: [{ rule: 'r' }] } },
      'config c.json: protectedPaths.extra[0].globs: expected an array, got undefined',
    ],
    [{ rulesFile: 'relative.json' }, 'config c.json: rulesFile: expected an absolute path, got "relative.json"'],
    [{ sidecars: { net: { command: [] } } }, 'config c.json: sidecars.net.command: expected at least the program'],
    [
      { providers: { p: { kind: 'openai-compatible', baseUrl: 'ftp://x' } } },
      'config c.json: providers.p.baseUrl: expected an http(s) URL',
    ],
    [
      { providers: { p: { kind: 'mock', price: {} } } },
      'config c.json: providers.p.price: unknown key; expected one of kind, baseUrl, secret, local, pricing',
    ],
    [
      { providers: { p: { kind: 'mock', pricing: 3 } } },
      'config c.json: providers.p.pricing: expected an object, got number',
    ],
    [
      { providers: { p: { kind: 'mock', pricing: { inputMicrosPerMillionTokens: 1 } } } },
      'config c.json: providers.p.pricing.outputMicrosPerMillionTokens: missing; give both the input and the output price',
    ],
    [
      { providers: { p: { kind: 'mock', pricing: { ...pricing, cachedMicrosPerMillionTokens: 1 } } } },
      'config c.json: providers.p.pricing.cachedMicrosPerMillionTokens: unknown key; expected one of inputMicrosPerMillionTokens, outputMicrosPerMillionTokens',
    ],
    [
      { providers: { p: { kind: 'mock', pricing: { ...pricing, inputMicrosPerMillionTokens: -1 } } } },
      'config c.json: providers.p.pricing.inputMicrosPerMillionTokens: expected a whole number of micros from 0 to 1000000000, got -1',
    ],
    [
      { providers: { p: { kind: 'mock', pricing: { ...pricing, outputMicrosPerMillionTokens: 2.5 } } } },
      'config c.json: providers.p.pricing.outputMicrosPerMillionTokens: expected a whole number of micros from 0 to 1000000000, got 2.5',
    ],
    [
      { providers: { p: { kind: 'mock', pricing: { ...pricing, inputMicrosPerMillionTokens: 1_000_000_001 } } } },
      'config c.json: providers.p.pricing.inputMicrosPerMillionTokens: expected a whole number of micros from 0 to 1000000000, got 1000000001',
    ],
    [
      { providers: { p: { kind: 'mock', pricing: { ...pricing, inputMicrosPerMillionTokens: '3' } } } },
      'config c.json: providers.p.pricing.inputMicrosPerMillionTokens: expected a whole number of micros from 0 to 1000000000, got "3"',
    ],
    [[], 'config c.json: $: expected an object, got an array'],
  ])('%j', (value, message) => {
    expect(() => parseConfig(value, 'c.json')).toThrow(message);
  });
});

test('the published schema names exactly the keys the loader accepts', () => {
  expect(Object.keys(schema.properties).filter((key) => key !== '$schema')).toEqual(
    Object.keys(defaultConfig).filter((key) => key !== 'path'),
  );
  expect(Object.keys(schema.properties['secrets']?.properties ?? {})).toEqual(Object.keys(defaultConfig.secrets));
  expect(Object.keys(schema.properties['protectedPaths']?.properties ?? {})).toEqual(
    Object.keys(defaultConfig.protectedPaths),
  );
  const parsed = parseConfig({ providers: { p: { kind: 'mock', pricing } } }, 'c.json').providers['p'];
  const provider = schema.properties['providers']?.additionalProperties?.properties ?? {};
  expect(Object.keys(provider)).toEqual(Object.keys(parsed ?? {}));
  const schemaPricing = provider['pricing'];
  expect({
    keys: Object.keys(schemaPricing?.properties ?? {}),
    required: schemaPricing?.required,
  }).toEqual({ keys: Object.keys(parsed?.pricing ?? {}), required: Object.keys(parsed?.pricing ?? {}) });
  for (const price of Object.values(schemaPricing?.properties ?? {})) {
    expect(price).toEqual({ type: 'integer', minimum: 0, maximum: ConfigLimits.priceMicrosPerMillionTokensMax });
  }
});
