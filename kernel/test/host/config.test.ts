/** The user configuration: strict validation that names the JSON path, and a schema kept in step. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError, defaultConfig, loadConfig, parseConfig } from '../../src/host/config.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const schema = JSON.parse(readFileSync(new URL('../../../docs/config.schema.json', import.meta.url), 'utf8')) as {
  properties: Record<string, { properties?: Record<string, unknown> }>;
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
        providers: { openai: { kind: 'openai-compatible', baseUrl: 'https://api.openai.com/v1', secret: 'openai' } },
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
        openai: { kind: 'openai-compatible', baseUrl: 'https://api.openai.com/v1', secret: 'openai', local: false },
      },
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
});
