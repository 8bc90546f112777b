import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { isSecretName, SecretLimits } from './limits.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import type { Secret } from './secret.js';
import type { SecretsError } from './secrets-error.js';

/**
 * The vault file, version 1 (all integers big-endian):
 *
 * | offset | bytes | field                                                  |
 * | ------ | ----- | ------------------------------------------------------ |
 * | 0      | 8     | magic `CRUSTVLT`                                       |
 * | 8      | 2     | format version (1)                                     |
 * | 10     | 1     | KDF id (1 = scrypt)                                    |
 * | 11     | 1     | log2 N                                                 |
 * | 12     | 1     | r                                                      |
 * | 13     | 1     | p                                                      |
 * | 14     | 2     | reserved, zero                                         |
 * | 16     | 16    | salt                                                   |
 * | 32     | 12    | AES-GCM nonce                                          |
 * | 44     | 16    | key check: HMAC-SHA-256(key, label), first 16 bytes    |
 * | 60     | 4     | ciphertext length                                      |
 * | 64     | 8     | header checksum: SHA-256 of bytes 0..64, first 8 bytes |
 * | 72     | n     | AES-256-GCM ciphertext of the JSON map name → value    |
 * | 72 + n | 16    | GCM tag; the 72 header bytes are the additional data   |
 *
 * The checksum tells accidental header damage apart; the key check tells a wrong passphrase apart
 * from a changed ciphertext (a forger can recompute both, but then the GCM tag fails).
 */
export const VaultFormat = {
  magic: 'CRUSTVLT',
  version: 1,
  kdfScrypt: 1,
  headerBytes: 72,
  saltBytes: 16,
  nonceBytes: 12,
  keyCheckBytes: 16,
  checksumBytes: 8,
  tagBytes: 16,
  keyBytes: 32,
} as const;

/** scrypt cost parameters, stored in the header. */
export type KdfParams = { readonly log2N: number; readonly r: number; readonly p: number };

/** The cost new vaults get: N = 2^17, r = 8, p = 1 (128 MiB, a fraction of a second). */
export const defaultKdf: KdfParams = { log2N: 17, r: 8, p: 1 };

/** A parsed vault file. */
export type VaultFile = {
  readonly kdf: KdfParams;
  readonly salt: Buffer;
  readonly header: Buffer;
  readonly keyCheck: Buffer;
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
};

type FormatError = Extract<
  SecretsError,
  { code: 'vaultCorrupted' | 'vaultUnsupportedVersion' | 'vaultWrongPassphrase' }
>;

const keyCheckLabel = 'crustcore vault v1 key check';

/** Why `kdf` is outside the supported range, or undefined when it is fine. */
export function kdfProblem(kdf: KdfParams): string | undefined {
  const { log2N, r, p } = kdf;
  if (!Number.isInteger(log2N) || log2N < SecretLimits.scryptLog2NMin || log2N > SecretLimits.scryptLog2NMax) {
    return `scrypt log2 N ${log2N} is outside ${SecretLimits.scryptLog2NMin}..${SecretLimits.scryptLog2NMax}`;
  }
  if (!Number.isInteger(r) || r < 1 || r > SecretLimits.scryptRMax)
    return `scrypt r ${r} is outside 1..${SecretLimits.scryptRMax}`;
  if (!Number.isInteger(p) || p < 1 || p > SecretLimits.scryptPMax)
    return `scrypt p ${p} is outside 1..${SecretLimits.scryptPMax}`;
  if (scryptMemoryBytes(kdf) > SecretLimits.scryptMemoryBytesMax) return 'scrypt parameters need too much memory';
  return undefined;
}

const scryptMemoryBytes = ({ log2N, r, p }: KdfParams): number => 128 * 2 ** log2N * r + 128 * r * p + 1024 * 1024;

/** Derives the AES key from the passphrase (NFC-normalized UTF-8) with scrypt. */
export function deriveKey(passphrase: Secret, salt: Buffer, kdf: KdfParams): Promise<Buffer> {
  const problem = kdfProblem(kdf);
  if (problem !== undefined) return Promise.reject(new RangeError(problem));
  const password = Buffer.from(passphrase.expose('vault key derivation').normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      VaultFormat.keyBytes,
      { N: 2 ** kdf.log2N, r: kdf.r, p: kdf.p, maxmem: scryptMemoryBytes(kdf) },
      (error, key) => {
        password.fill(0);
        if (error === null) resolve(key);
        else reject(error);
      },
    );
  });
}

const keyCheckOf = (key: Buffer): Buffer =>
  createHmac('sha256', key).update(keyCheckLabel).digest().subarray(0, VaultFormat.keyCheckBytes);

const checksumOf = (headerWithoutChecksum: Buffer): Buffer =>
  createHash('sha256').update(headerWithoutChecksum).digest().subarray(0, VaultFormat.checksumBytes);

/** A fresh salt for a new vault or a rotation. */
export function newSalt(): Buffer {
  return randomBytes(VaultFormat.saltBytes);
}

/** Encrypts `entries` under `key` with a fresh nonce and returns the whole file. */
export function sealVault(entries: ReadonlyMap<string, string>, key: Buffer, kdf: KdfParams, salt: Buffer): Buffer {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const plaintext = Buffer.from(JSON.stringify(Object.fromEntries(sorted)), 'utf8');
  const header = Buffer.alloc(VaultFormat.headerBytes);
  header.write(VaultFormat.magic, 0, 'latin1');
  header.writeUInt16BE(VaultFormat.version, 8);
  header.writeUInt8(VaultFormat.kdfScrypt, 10);
  header.writeUInt8(kdf.log2N, 11);
  header.writeUInt8(kdf.r, 12);
  header.writeUInt8(kdf.p, 13);
  salt.copy(header, 16);
  const nonce = randomBytes(VaultFormat.nonceBytes);
  nonce.copy(header, 32);
  keyCheckOf(key).copy(header, 44);
  header.writeUInt32BE(plaintext.length, 60);
  checksumOf(header.subarray(0, 64)).copy(header, 64);

  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: VaultFormat.tagBytes });
  cipher.setAAD(header);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  return Buffer.concat([header, ciphertext, cipher.getAuthTag()]);
}

/** Checks the framing of a vault file without any key: magic, version, checksum, fields, length. */
export function parseVault(path: string, file: Buffer): Result<VaultFile, FormatError> {
  const corrupted = (reason: string): Result<VaultFile, FormatError> => fail({ code: 'vaultCorrupted', path, reason });
  if (file.length < 10 || file.toString('latin1', 0, 8) !== VaultFormat.magic) {
    return corrupted('it does not start with the crustcore vault magic bytes');
  }
  const version = file.readUInt16BE(8);
  if (version !== VaultFormat.version) return fail({ code: 'vaultUnsupportedVersion', path, version });
  if (file.length < VaultFormat.headerBytes) {
    return corrupted(`it is truncated: ${file.length} bytes, shorter than the ${VaultFormat.headerBytes}-byte header`);
  }
  const header = file.subarray(0, VaultFormat.headerBytes);
  if (!checksumOf(header.subarray(0, 64)).equals(header.subarray(64, 72)))
    return corrupted('the header checksum does not match');
  if (header.readUInt8(10) !== VaultFormat.kdfScrypt) return corrupted(`unknown KDF id ${header.readUInt8(10)}`);
  if (header.readUInt16BE(14) !== 0) return corrupted('reserved header bytes are not zero');
  const kdf: KdfParams = { log2N: header.readUInt8(11), r: header.readUInt8(12), p: header.readUInt8(13) };
  const problem = kdfProblem(kdf);
  if (problem !== undefined) return corrupted(`the header's ${problem}`);
  const ciphertextBytes = header.readUInt32BE(60);
  const expectedBytes = VaultFormat.headerBytes + ciphertextBytes + VaultFormat.tagBytes;
  if (file.length !== expectedBytes) {
    return corrupted(`it is ${file.length} bytes but its header says ${expectedBytes} (truncated or appended to)`);
  }
  return ok({
    kdf,
    header,
    salt: header.subarray(16, 32),
    nonce: header.subarray(32, 44),
    keyCheck: header.subarray(44, 60),
    ciphertext: file.subarray(VaultFormat.headerBytes, VaultFormat.headerBytes + ciphertextBytes),
    tag: file.subarray(VaultFormat.headerBytes + ciphertextBytes),
  });
}

/** Decrypts and validates the entries of a parsed vault. */
export function decryptVault(path: string, vault: VaultFile, key: Buffer): Result<Map<string, string>, FormatError> {
  if (!timingSafeEqual(keyCheckOf(key), vault.keyCheck)) return fail({ code: 'vaultWrongPassphrase', path });
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, vault.nonce, { authTagLength: VaultFormat.tagBytes });
    decipher.setAAD(vault.header);
    decipher.setAuthTag(vault.tag);
    plaintext = Buffer.concat([decipher.update(vault.ciphertext), decipher.final()]);
  } catch {
    return fail({
      code: 'vaultCorrupted',
      path,
      reason: 'its contents fail authentication (the passphrase is right, so the file was changed or damaged)',
    });
  }
  try {
    const parsed: unknown = JSON.parse(plaintext.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    const entries = new Map<string, string>();
    for (const [name, value] of Object.entries(parsed)) {
      if (!isSecretName(name) || typeof value !== 'string') throw new Error('bad entry');
      entries.set(name, value);
    }
    return ok(entries);
  } catch {
    return fail({ code: 'vaultCorrupted', path, reason: 'its decrypted contents are not a map of names to values' });
  } finally {
    plaintext.fill(0);
  }
}
