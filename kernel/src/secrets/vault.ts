import { isSecretName, SecretLimits } from './limits.js';
import { readPrivateFile, writePrivateFileAtomically } from './private-file.js';
import { assertNever, fail, ok } from './result.js';
import type { Result } from './result.js';
import { Secret } from './secret.js';
import type { ExposeAudit } from './secret.js';
import type { SecretsError } from './secrets-error.js';
import { decryptVault, defaultKdf, deriveKey, kdfProblem, newSalt, parseVault, sealVault } from './vault-format.js';
import type { KdfParams } from './vault-format.js';

/**
 * The encrypted vault: a file of named secrets under one passphrase (scrypt + AES-256-GCM, format in
 * `vault-format.ts`). Every operation reads and checks the whole file; every change rewrites it
 * atomically. On any error the file on disk is unchanged. Concurrent writers are not serialized:
 * the last rename wins.
 */

/** Options for creating or rotating a vault. */
export type VaultWriteOptions = {
  /** scrypt cost; defaults to `defaultKdf`. Values below N = 2^15 are refused. */
  readonly kdf?: KdfParams;
};

type Opened = {
  readonly entries: Map<string, string>;
  readonly key: Buffer;
  readonly kdf: KdfParams;
  readonly salt: Buffer;
};

async function load(path: string, passphrase: Secret): Promise<Result<Opened, SecretsError>> {
  const read = await readPrivateFile(path, SecretLimits.vaultBytesMax);
  if (!read.ok) {
    const error = read.error;
    switch (error.code) {
      case 'missing':
        return fail({ code: 'vaultMissing', path });
      case 'insecure':
        return fail({ code: 'vaultInsecurePermissions', path, reason: error.reason });
      case 'tooLarge':
        return fail({ code: 'vaultTooLarge', path, bytes: error.bytes, bytesMax: SecretLimits.vaultBytesMax });
      case 'io':
        return fail({ code: 'vaultIoFailed', path, reason: error.reason });
      default:
        return assertNever(error);
    }
  }
  const parsed = parseVault(path, read.value);
  if (!parsed.ok) return parsed;
  const key = await deriveKey(passphrase, parsed.value.salt, parsed.value.kdf);
  const entries = decryptVault(path, parsed.value, key);
  if (!entries.ok) {
    key.fill(0);
    return entries;
  }
  return ok({ entries: entries.value, key, kdf: parsed.value.kdf, salt: Buffer.from(parsed.value.salt) });
}

async function store(
  path: string,
  entries: ReadonlyMap<string, string>,
  key: Buffer,
  kdf: KdfParams,
  salt: Buffer,
  exclusive: boolean,
): Promise<Result<void, SecretsError>> {
  const bytes = sealVault(entries, key, kdf, salt);
  if (bytes.length > SecretLimits.vaultBytesMax) {
    return fail({ code: 'vaultTooLarge', path, bytes: bytes.length, bytesMax: SecretLimits.vaultBytesMax });
  }
  const written = await writePrivateFileAtomically(path, bytes, { exclusive });
  if (written.ok) return ok(undefined);
  switch (written.error.code) {
    case 'exists':
      return fail({ code: 'vaultExists', path });
    case 'io':
      return fail({ code: 'vaultIoFailed', path, reason: written.error.reason });
    default:
      return assertNever(written.error);
  }
}

function checkNewPassphrase(passphrase: Secret): Result<void, SecretsError> {
  const chars = [...passphrase.expose('vault passphrase length check')].length;
  if (chars < SecretLimits.passphraseCharsMin)
    return fail({ code: 'passphraseTooShort', charsMin: SecretLimits.passphraseCharsMin });
  return ok(undefined);
}

function checkKdf(kdf: KdfParams): void {
  const problem = kdfProblem(kdf);
  if (problem !== undefined) throw new RangeError(`vault KDF parameters refused: ${problem}`);
}

async function change(
  path: string,
  passphrase: Secret,
  edit: (entries: Map<string, string>) => Result<void, SecretsError>,
): Promise<Result<void, SecretsError>> {
  const opened = await load(path, passphrase);
  if (!opened.ok) return opened;
  const { entries, key, kdf, salt } = opened.value;
  try {
    const edited = edit(entries);
    if (!edited.ok) return edited;
    return await store(path, entries, key, kdf, salt, false);
  } finally {
    key.fill(0);
  }
}

/** Creates an empty vault at `path`; fails with `vaultExists` when a file is already there. */
export async function vaultCreate(
  path: string,
  passphrase: Secret,
  options: VaultWriteOptions = {},
): Promise<Result<void, SecretsError>> {
  const kdf = options.kdf ?? defaultKdf;
  checkKdf(kdf);
  const strong = checkNewPassphrase(passphrase);
  if (!strong.ok) return strong;
  const salt = newSalt();
  const key = await deriveKey(passphrase, salt, kdf);
  try {
    return await store(path, new Map(), key, kdf, salt, true);
  } finally {
    key.fill(0);
  }
}

/** The names in the vault, sorted. */
export async function vaultList(path: string, passphrase: Secret): Promise<Result<readonly string[], SecretsError>> {
  const opened = await load(path, passphrase);
  if (!opened.ok) return opened;
  opened.value.key.fill(0);
  return ok([...opened.value.entries.keys()].sort());
}

/** Every secret in the vault, each wrapped with `onExpose` as its audit hook. */
export async function vaultReadAll(
  path: string,
  passphrase: Secret,
  options: { readonly onExpose?: ExposeAudit } = {},
): Promise<Result<ReadonlyMap<string, Secret>, SecretsError>> {
  const opened = await load(path, passphrase);
  if (!opened.ok) return opened;
  opened.value.key.fill(0);
  const secrets = new Map<string, Secret>();
  for (const [name, value] of opened.value.entries) secrets.set(name, new Secret(name, value, options));
  return ok(secrets);
}

/** One secret from the vault; `vaultEntryMissing` when it has no such name. */
export async function vaultGet(
  path: string,
  passphrase: Secret,
  name: string,
  options: { readonly onExpose?: ExposeAudit } = {},
): Promise<Result<Secret, SecretsError>> {
  if (!isSecretName(name)) return fail({ code: 'secretNameInvalid', name });
  const all = await vaultReadAll(path, passphrase, options);
  if (!all.ok) return all;
  const secret = all.value.get(name);
  return secret === undefined ? fail({ code: 'vaultEntryMissing', path, name }) : ok(secret);
}

/** Adds or replaces one secret. */
export async function vaultSet(path: string, passphrase: Secret, value: Secret): Promise<Result<void, SecretsError>> {
  const plain = value.expose('vault write');
  if (plain.length > SecretLimits.valueCharsMax) {
    return fail({ code: 'secretTooLong', name: value.name, charsMax: SecretLimits.valueCharsMax });
  }
  return change(path, passphrase, (entries) => {
    entries.set(value.name, plain);
    return ok(undefined);
  });
}

/** Removes one secret; `vaultEntryMissing` when it has no such name. */
export async function vaultRemove(path: string, passphrase: Secret, name: string): Promise<Result<void, SecretsError>> {
  if (!isSecretName(name)) return fail({ code: 'secretNameInvalid', name });
  return change(path, passphrase, (entries) =>
    entries.delete(name) ? ok(undefined) : fail({ code: 'vaultEntryMissing', path, name }),
  );
}

/**
 * Re-encrypts the vault under `newPassphrase` with a fresh salt (and `options.kdf` when given, else
 * the current cost), replacing the file atomically.
 */
export async function vaultRotate(
  path: string,
  passphrase: Secret,
  newPassphrase: Secret,
  options: VaultWriteOptions = {},
): Promise<Result<void, SecretsError>> {
  if (options.kdf !== undefined) checkKdf(options.kdf);
  const strong = checkNewPassphrase(newPassphrase);
  if (!strong.ok) return strong;
  const opened = await load(path, passphrase);
  if (!opened.ok) return opened;
  opened.value.key.fill(0);
  const kdf = options.kdf ?? opened.value.kdf;
  const salt = newSalt();
  const key = await deriveKey(newPassphrase, salt, kdf);
  try {
    return await store(path, opened.value.entries, key, kdf, salt, false);
  } finally {
    key.fill(0);
  }
}
