/**
 * Invariant: the vault file is readable only with its passphrase, refuses every damaged, truncated,
 * tampered or over-permissive file with a typed error, and never changes on disk when an operation
 * fails. Rotation and every write replace the file atomically.
 * Method: real files in a temp directory; each failing case compares a hash of every file in the
 * directory before and after.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writePrivateFileAtomically } from '../../src/secrets/private-file.js';
import { Secret } from '../../src/secrets/secret.js';
import { formatSecretsError } from '../../src/secrets/secrets-error.js';
import type { SecretsError } from '../../src/secrets/secrets-error.js';
import {
  vaultCreate,
  vaultGet,
  vaultList,
  vaultReadAll,
  vaultRemove,
  vaultRotate,
  vaultSet,
} from '../../src/secrets/vault.js';
import { VaultFormat } from '../../src/secrets/vault-format.js';
import type { Result } from '../../src/secrets/result.js';

const kdf = { log2N: 15, r: 8, p: 1 };
const passphrase = new Secret('vault-passphrase', 'correct horse battery staple');
const wrong = new Secret('vault-passphrase', 'incorrect horse battery staple');
const apiKey = new Secret('api-key', 'sk-test-value-0123456789');

let dir = '';
let path = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crustcore-vault-'));
  path = join(dir, 'secrets.vault');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function snapshot(): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    entries[entry.name] = entry.isFile()
      ? createHash('sha256')
          .update(await readFile(join(dir, entry.name)))
          .digest('hex')
      : 'not a file';
  }
  return entries;
}

async function vaultWith(): Promise<void> {
  expect(await vaultCreate(path, passphrase, { kdf })).toEqual({ ok: true, value: undefined });
  expect(await vaultSet(path, passphrase, apiKey)).toEqual({ ok: true, value: undefined });
}

/** Runs `operation`, expects `error`, and proves nothing on disk changed. */
async function failsCleanly<T>(operation: () => Promise<Result<T, SecretsError>>, error: SecretsError): Promise<void> {
  const before = await snapshot();
  expect(await operation()).toEqual({ ok: false, error });
  expect(await snapshot()).toEqual(before);
  expect(formatSecretsError(error)).not.toContain(apiKey.expose('test assertion'));
}

/** Rewrites the header checksum so a deliberate header change passes the accidental-damage check. */
function reseal(file: Buffer): Buffer {
  createHash('sha256').update(file.subarray(0, 64)).digest().subarray(0, 8).copy(file, 64);
  return file;
}

async function tamper(edit: (file: Buffer) => Buffer): Promise<void> {
  const file = await readFile(path);
  await writeFile(path, edit(Buffer.from(file)), { mode: 0o600 });
}

describe('vault', () => {
  it('stores, lists, reads and removes secrets; the file is private and holds no plaintext', async () => {
    await vaultWith();
    await vaultSet(path, passphrase, new Secret('db-password', 'pä55 wörd'));
    expect(await vaultList(path, passphrase)).toEqual({ ok: true, value: ['api-key', 'db-password'] });
    const got = await vaultGet(path, passphrase, 'db-password');
    expect(got.ok && got.value.expose('test assertion')).toBe('pä55 wörd');
    const all = await vaultReadAll(path, passphrase);
    expect(all.ok && [...all.value].map(([name, secret]) => [name, secret.expose('test assertion')])).toEqual([
      ['api-key', 'sk-test-value-0123456789'],
      ['db-password', 'pä55 wörd'],
    ]);
    expect(await vaultRemove(path, passphrase, 'db-password')).toEqual({ ok: true, value: undefined });
    expect(await vaultList(path, passphrase)).toEqual({ ok: true, value: ['api-key'] });

    const file = await readFile(path);
    expect(file.subarray(0, 8).toString('latin1')).toBe('CRUSTVLT');
    expect(file.readUInt8(11)).toBe(15);
    expect(file.includes(Buffer.from('sk-test-value'))).toBe(false);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['secrets.vault']);
  });

  it('reports a missing vault, an existing one, a missing entry and a bad name', async () => {
    await failsCleanly(() => vaultList(path, passphrase), { code: 'vaultMissing', path });
    await vaultWith();
    await failsCleanly(() => vaultCreate(path, passphrase, { kdf }), { code: 'vaultExists', path });
    await failsCleanly(() => vaultGet(path, passphrase, 'nope'), { code: 'vaultEntryMissing', path, name: 'nope' });
    await failsCleanly(() => vaultRemove(path, passphrase, 'nope'), { code: 'vaultEntryMissing', path, name: 'nope' });
    await failsCleanly(() => vaultGet(path, passphrase, '../x'), { code: 'secretNameInvalid', name: '../x' });
  });

  it('refuses a short passphrase and writes nothing', async () => {
    await failsCleanly(() => vaultCreate(path, new Secret('p', 'short'), { kdf }), {
      code: 'passphraseTooShort',
      charsMin: 8,
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses KDF parameters below the floor', async () => {
    await expect(vaultCreate(path, passphrase, { kdf: { log2N: 14, r: 8, p: 1 } })).rejects.toThrow(RangeError);
  });

  it('tells a wrong passphrase apart and changes nothing', async () => {
    await vaultWith();
    await failsCleanly(() => vaultList(path, wrong), { code: 'vaultWrongPassphrase', path });
    await failsCleanly(() => vaultSet(path, wrong, new Secret('other', 'other-value')), {
      code: 'vaultWrongPassphrase',
      path,
    });
    await failsCleanly(() => vaultRemove(path, wrong, 'api-key'), { code: 'vaultWrongPassphrase', path });
    await failsCleanly(() => vaultRotate(path, wrong, passphrase), { code: 'vaultWrongPassphrase', path });
  });

  it('detects a changed ciphertext or tag byte', async () => {
    await vaultWith();
    const size = (await readFile(path)).length;
    for (const offset of [VaultFormat.headerBytes, size - 1]) {
      await tamper((file) => {
        file[offset] = (file[offset] ?? 0) ^ 0x01;
        return file;
      });
      await failsCleanly(() => vaultList(path, passphrase), {
        code: 'vaultCorrupted',
        path,
        reason: 'its contents fail authentication (the passphrase is right, so the file was changed or damaged)',
      });
      await tamper((file) => {
        file[offset] = (file[offset] ?? 0) ^ 0x01;
        return file;
      });
    }
    expect((await vaultList(path, passphrase)).ok).toBe(true);
  });

  it('detects truncation and appended bytes', async () => {
    await vaultWith();
    const size = (await readFile(path)).length;
    await tamper((file) => file.subarray(0, size - 1));
    await failsCleanly(() => vaultList(path, passphrase), {
      code: 'vaultCorrupted',
      path,
      reason: `it is ${size - 1} bytes but its header says ${size} (truncated or appended to)`,
    });
    await tamper((file) => Buffer.concat([file, Buffer.from('xx')]));
    await failsCleanly(() => vaultList(path, passphrase), {
      code: 'vaultCorrupted',
      path,
      reason: `it is ${size + 1} bytes but its header says ${size} (truncated or appended to)`,
    });
    await tamper((file) => file.subarray(0, 40));
    await failsCleanly(() => vaultList(path, passphrase), {
      code: 'vaultCorrupted',
      path,
      reason: 'it is truncated: 40 bytes, shorter than the 72-byte header',
    });
    await writeFile(path, Buffer.alloc(0), { mode: 0o600 });
    await failsCleanly(() => vaultList(path, passphrase), {
      code: 'vaultCorrupted',
      path,
      reason: 'it does not start with the crustcore vault magic bytes',
    });
  });

  it('tells header damage apart as far as the format allows', async () => {
    await vaultWith();
    const original = await readFile(path);
    const cases: ReadonlyArray<readonly [string, (file: Buffer) => Buffer, SecretsError]> = [
      [
        'magic',
        (file) => (file.write('X', 0, 'latin1'), file),
        { code: 'vaultCorrupted', path, reason: 'it does not start with the crustcore vault magic bytes' },
      ],
      ['version', (file) => (file.writeUInt16BE(2, 8), file), { code: 'vaultUnsupportedVersion', path, version: 2 }],
      [
        'salt byte (accidental)',
        (file) => ((file[20] = (file[20] ?? 0) ^ 1), file),
        { code: 'vaultCorrupted', path, reason: 'the header checksum does not match' },
      ],
      [
        'salt byte (forged checksum)',
        (file) => ((file[20] = (file[20] ?? 0) ^ 1), reseal(file)),
        { code: 'vaultWrongPassphrase', path },
      ],
      [
        'nonce byte (forged checksum)',
        (file) => ((file[33] = (file[33] ?? 0) ^ 1), reseal(file)),
        {
          code: 'vaultCorrupted',
          path,
          reason: 'its contents fail authentication (the passphrase is right, so the file was changed or damaged)',
        },
      ],
      [
        'scrypt N (forged checksum)',
        (file) => (file.writeUInt8(40, 11), reseal(file)),
        {
          code: 'vaultCorrupted',
          path,
          reason: "the header's scrypt log2 N 40 is outside 15..20",
        },
      ],
      [
        'KDF id (forged checksum)',
        (file) => (file.writeUInt8(9, 10), reseal(file)),
        { code: 'vaultCorrupted', path, reason: 'unknown KDF id 9' },
      ],
    ];
    for (const [label, edit, error] of cases) {
      await writeFile(path, edit(Buffer.from(original)), { mode: 0o600 });
      await failsCleanly(() => vaultList(path, passphrase), error).catch((failure: unknown) => {
        throw new Error(`${label}: ${String(failure)}`);
      });
    }
  });

  it('refuses a vault that group or others can read, a symlink, or a directory', async () => {
    await vaultWith();
    await chmod(path, 0o640);
    await failsCleanly(() => vaultList(path, passphrase), {
      code: 'vaultInsecurePermissions',
      path,
      reason: 'its mode 640 lets group or others read it',
    });
    await chmod(path, 0o600);
    const link = join(dir, 'link.vault');
    await symlink(path, link);
    await failsCleanly(() => vaultList(link, passphrase), {
      code: 'vaultInsecurePermissions',
      path: link,
      reason: 'it is a symbolic link',
    });
    await failsCleanly(() => vaultList(dir, passphrase), {
      code: 'vaultInsecurePermissions',
      path: dir,
      reason: 'it is not a regular file',
    });
  });

  it('rotates to a new passphrase and salt, keeping the contents', async () => {
    await vaultWith();
    const before = await readFile(path);
    const next = new Secret('vault-passphrase', 'a brand new passphrase');
    expect(await vaultRotate(path, passphrase, next, { kdf: { log2N: 16, r: 8, p: 1 } })).toEqual({
      ok: true,
      value: undefined,
    });
    const after = await readFile(path);
    expect(after.subarray(16, 32).equals(before.subarray(16, 32))).toBe(false);
    expect(after.readUInt8(11)).toBe(16);
    expect(await vaultList(path, passphrase)).toEqual({ ok: false, error: { code: 'vaultWrongPassphrase', path } });
    const got = await vaultGet(path, next, 'api-key');
    expect(got.ok && got.value.expose('test assertion')).toBe('sk-test-value-0123456789');
    await failsCleanly(() => vaultRotate(path, next, new Secret('p', 'short')), {
      code: 'passphraseTooShort',
      charsMin: 8,
    });
    expect(await readdir(dir)).toEqual(['secrets.vault']);
  });

  it('a crash between temp write and rename leaves the old vault valid', async () => {
    await vaultWith();
    // What a crash after writing the temp file and before the rename leaves behind.
    const stray = join(dir, '.secrets.vault.0123456789abcdef.tmp');
    await writeFile(stray, Buffer.from('half-written new vault'), { mode: 0o600 });
    const got = await vaultGet(path, passphrase, 'api-key');
    expect(got.ok && got.value.expose('test assertion')).toBe('sk-test-value-0123456789');
    expect(await vaultSet(path, passphrase, new Secret('second', 'second-value'))).toEqual({
      ok: true,
      value: undefined,
    });
    expect(await vaultList(path, passphrase)).toEqual({ ok: true, value: ['api-key', 'second'] });
    expect((await readdir(dir)).sort()).toEqual(['.secrets.vault.0123456789abcdef.tmp', 'secrets.vault']);
    expect(await readFile(stray, 'utf8')).toBe('half-written new vault');
  });

  it('a failed write removes its temp file and leaves the target as it was', async () => {
    await vaultWith();
    const missingDir = join(dir, 'gone', 'secrets.vault');
    await failsCleanly(() => vaultCreate(missingDir, passphrase, { kdf }), {
      code: 'vaultIoFailed',
      path: missingDir,
      reason: 'cannot create a temp file (ENOENT)',
    });
    // The rename fails when the target is a non-empty directory; the temp file must not stay.
    const occupied = join(dir, 'occupied');
    await mkdir(occupied);
    await writeFile(join(occupied, 'keep'), 'kept');
    const before = await snapshot();
    const written = await writePrivateFileAtomically(occupied, Buffer.from('new'), { exclusive: false });
    expect(written.ok).toBe(false);
    expect(await snapshot()).toEqual(before);
    expect(await readdir(occupied)).toEqual(['keep']);
  });
});
