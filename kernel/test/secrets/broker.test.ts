/**
 * Invariant: the broker resolves each secret from env, then the vault, then the OS keyring; mapped
 * environment variables are gone after start (no child inherits them); a missing or failing
 * keyring tool makes that source unavailable without an error; a missing secret is a typed value
 * that says what each source answered.
 * Method: real child processes; the keyring is a fake `secret-tool` script on a temp PATH (the real
 * one is absent on most CI machines, which is the "absent tool" case).
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/secrets/broker.js';
import { keyringLookup } from '../../src/secrets/keyring.js';
import { Secret } from '../../src/secrets/secret.js';
import { vaultCreate, vaultSet } from '../../src/secrets/vault.js';

let dir = '';
let bin = '';
let emptyBin = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crustcore-broker-'));
  bin = join(dir, 'bin');
  emptyBin = join(dir, 'empty-bin');
  await mkdir(bin);
  await mkdir(emptyBin);
  const script = [
    '#!/bin/sh',
    // Only shell builtins: the tool runs with PATH set to this directory alone.
    `export -p > "${join(dir, 'tool-env')}"`,
    `echo "$@" >> "${join(dir, 'tool-calls')}"`,
    '[ "$1" = lookup ] && [ "$2" = service ] && [ "$3" = crustcore ] && [ "$4" = account ] || exit 2',
    'case "$5" in',
    "  kr-token) printf 'keyring-value-123\\n' ;;",
    '  broken) echo "Cannot autolaunch D-Bus without X11 $DISPLAY" >&2; exit 1 ;;',
    '  slow) while :; do :; done ;;',
    '  *) exit 1 ;;',
    'esac',
    '',
  ].join('\n');
  await writeFile(join(bin, 'secret-tool'), script);
  await chmod(join(bin, 'secret-tool'), 0o755);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const reveal = (secret: Secret): string => secret.expose('test assertion');

describe('keyringLookup', () => {
  it('finds, misses, and reports an absent, failing or slow tool as unavailable', async () => {
    const env = { PATH: bin, HOME: dir };
    expect(await keyringLookup('kr-token', { platform: 'linux', env })).toEqual({
      found: true,
      value: 'keyring-value-123',
    });
    expect(await keyringLookup('other', { platform: 'linux', env })).toEqual({
      found: false,
      status: 'notFound',
      reason: 'no entry',
    });
    expect(await keyringLookup('broken', { platform: 'linux', env })).toEqual({
      found: false,
      status: 'unavailable',
      reason: 'secret-tool failed (1)',
    });
    expect(await keyringLookup('slow', { platform: 'linux', env, timeoutMs: 300 })).toEqual({
      found: false,
      status: 'unavailable',
      reason: 'secret-tool did not answer within 300 ms',
    });
    expect(await keyringLookup('kr-token', { platform: 'linux', env: { PATH: emptyBin } })).toEqual({
      found: false,
      status: 'unavailable',
      reason: 'secret-tool is not installed',
    });
    expect(await keyringLookup('kr-token', { platform: 'win32', env })).toEqual({
      found: false,
      status: 'unavailable',
      reason: 'no keyring tool on win32',
    });
  });

  it('passes the tool only the variables it needs, never a shell', async () => {
    await keyringLookup('kr-token; touch pwned', {
      platform: 'linux',
      env: { PATH: bin, HOME: dir, API_TOKEN: 'leak-me' },
    });
    const seen = await readFile(join(dir, 'tool-env'), 'utf8');
    expect(seen).not.toContain('leak-me');
    expect(await readFile(join(dir, 'tool-calls'), 'utf8')).toBe(
      'lookup service crustcore account kr-token; touch pwned\n',
    );
  });
});

describe('createBroker', () => {
  it('reads mapped env variables once and deletes them from the real process environment', async () => {
    process.env['CC_TEST_API_KEY'] = 'env-api-key-value';
    process.env['CC_TEST_UNMAPPED'] = 'stays';
    try {
      const broker = await createBroker({
        envVariables: { 'api-key': 'CC_TEST_API_KEY', absent: 'CC_TEST_ABSENT' },
        env: process.env,
      });
      if (!broker.ok) throw new Error('broker failed');
      const got = broker.value.get('api-key');
      expect(got.ok && reveal(got.value)).toBe('env-api-key-value');
      expect(broker.value.sourceOf('api-key')).toBe('env');
      expect('CC_TEST_API_KEY' in process.env).toBe(false);
      const childEnv = execFileSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], {
        encoding: 'utf8',
      });
      expect(childEnv).not.toContain('env-api-key-value');
      expect(JSON.parse(childEnv)).toMatchObject({ CC_TEST_UNMAPPED: 'stays' });
      expect(broker.value.get('absent')).toEqual({
        ok: false,
        error: {
          code: 'secretMissing',
          name: 'absent',
          sources: [
            { source: 'env', status: 'notFound', reason: 'CC_TEST_ABSENT is not set' },
            { source: 'vault', status: 'notConfigured' },
            { source: 'keyring', status: 'notConfigured' },
          ],
        },
      });
    } finally {
      delete process.env['CC_TEST_API_KEY'];
      delete process.env['CC_TEST_UNMAPPED'];
    }
  });

  it('skips an absent keyring tool without failing', async () => {
    const env: Record<string, string | undefined> = { PATH: emptyBin, GH: 'gh-value-from-env' };
    const broker = await createBroker({
      names: ['kr-token', 'gh'],
      envVariables: { gh: 'GH' },
      env,
      keyring: { platform: 'linux' },
    });
    if (!broker.ok) throw new Error('broker failed');
    expect(env).toEqual({ PATH: emptyBin });
    expect(broker.value.names()).toEqual(['gh']);
    expect(broker.value.get('kr-token')).toEqual({
      ok: false,
      error: {
        code: 'secretMissing',
        name: 'kr-token',
        sources: [
          { source: 'env', status: 'notConfigured' },
          { source: 'vault', status: 'notConfigured' },
          { source: 'keyring', status: 'unavailable', reason: 'secret-tool is not installed' },
        ],
      },
    });
  });

  it('resolves env before vault before keyring, and knows every value for the redactor', async () => {
    const path = join(dir, 'secrets.vault');
    const passphrase = new Secret('vault-passphrase', 'correct horse battery staple');
    await vaultCreate(path, passphrase, { kdf: { log2N: 15, r: 8, p: 1 } });
    await vaultSet(path, passphrase, new Secret('shared', 'shared-from-vault'));
    await vaultSet(path, passphrase, new Secret('vault-only', 'vault-only-value'));
    const audit: string[] = [];
    const broker = await createBroker({
      names: ['kr-token', 'nowhere', 'shared', 'vault-only'],
      envVariables: { shared: 'SHARED' },
      env: { PATH: bin, HOME: dir, SHARED: 'shared-from-env' },
      vault: { path, passphrase },
      keyring: { platform: 'linux' },
      onExpose: (name, purpose) => audit.push(`${name}: ${purpose}`),
    });
    if (!broker.ok) throw new Error('broker failed');
    const value = (name: string): string | undefined => {
      const got = broker.value.get(name);
      return got.ok ? got.value.expose('test assertion') : undefined;
    };
    expect([value('shared'), value('vault-only'), value('kr-token'), value('nowhere')]).toEqual([
      'shared-from-env',
      'vault-only-value',
      'keyring-value-123',
      undefined,
    ]);
    expect(['shared', 'vault-only', 'kr-token'].map((name) => broker.value.sourceOf(name))).toEqual([
      'env',
      'vault',
      'keyring',
    ]);
    expect(
      broker.value
        .knownSecrets()
        .map((secret) => `${secret.name}=${secret.expose('redaction boundary')}`)
        .sort(),
    ).toEqual([
      'kr-token=keyring-value-123',
      'shared=shared-from-env',
      'shared=shared-from-vault',
      'vault-only=vault-only-value',
    ]);
    expect(audit).toContain('shared: test assertion');
    expect(await readFile(join(dir, 'tool-calls'), 'utf8')).toBe(
      'lookup service crustcore account kr-token\nlookup service crustcore account nowhere\n',
    );
    expect(broker.value.get('nowhere')).toEqual({
      ok: false,
      error: {
        code: 'secretMissing',
        name: 'nowhere',
        sources: [
          { source: 'env', status: 'notConfigured' },
          { source: 'vault', status: 'notFound' },
          { source: 'keyring', status: 'notFound' },
        ],
      },
    });
  });

  it('stops asking a keyring that failed once', async () => {
    const broker = await createBroker({
      names: ['broken', 'kr-token'],
      env: { PATH: bin, HOME: dir },
      keyring: { platform: 'linux' },
    });
    if (!broker.ok) throw new Error('broker failed');
    expect(await readFile(join(dir, 'tool-calls'), 'utf8')).toBe('lookup service crustcore account broken\n');
    expect(broker.value.get('kr-token')).toEqual({
      ok: false,
      error: {
        code: 'secretMissing',
        name: 'kr-token',
        sources: [
          { source: 'env', status: 'notConfigured' },
          { source: 'vault', status: 'notConfigured' },
          { source: 'keyring', status: 'unavailable', reason: 'secret-tool failed (1)' },
        ],
      },
    });
  });

  it('treats a missing vault file as unavailable and a wrong passphrase as an error', async () => {
    const path = join(dir, 'secrets.vault');
    const passphrase = new Secret('vault-passphrase', 'correct horse battery staple');
    const missing = await createBroker({ names: ['x'], vault: { path, passphrase } });
    expect(missing.ok && missing.value.get('x')).toEqual({
      ok: false,
      error: {
        code: 'secretMissing',
        name: 'x',
        sources: [
          { source: 'env', status: 'notConfigured' },
          { source: 'vault', status: 'unavailable', reason: `no vault at ${path}` },
          { source: 'keyring', status: 'notConfigured' },
        ],
      },
    });
    await vaultCreate(path, passphrase, { kdf: { log2N: 15, r: 8, p: 1 } });
    const wrong = await createBroker({
      vault: { path, passphrase: new Secret('vault-passphrase', 'not the passphrase') },
    });
    expect(wrong).toEqual({ ok: false, error: { code: 'vaultWrongPassphrase', path } });
  });

  it('refuses an invalid secret name', async () => {
    expect(await createBroker({ names: ['bad name'] })).toEqual({
      ok: false,
      error: { code: 'secretNameInvalid', name: 'bad name' },
    });
  });
});
