/**
 * Every bound the secrets module enforces, in one place. Lengths are UTF-16 code units unless the
 * name says bytes.
 */
export const SecretLimits = {
  /** Longest secret name; names are `[A-Za-z0-9][A-Za-z0-9._-]*` so they are safe inside a marker. */
  nameCharsMax: 64,
  /** Shorter values are never redacted: they would match ordinary text everywhere. */
  exactCharsMin: 4,
  /** Encoded forms (base64, hex, URL…) are matched only for values at least this long. */
  encodedCharsMin: 8,
  /** The redactor refuses values longer than this; a needle this long is not a credential. */
  valueCharsMax: 16_384,
  /** Characters of already-scanned input a stream keeps so look-behind checks see the same text. */
  lookbehindChars: 8,
  /** Largest vault file read or written. */
  vaultBytesMax: 4 * 1024 * 1024,
  /** Shortest passphrase accepted when a vault is created or rotated. */
  passphraseCharsMin: 8,
  /** scrypt cost bounds; the header is refused outside them (a tampered N must not hang the host). */
  scryptLog2NMin: 15,
  scryptLog2NMax: 20,
  scryptRMax: 16,
  scryptPMax: 4,
  /** Upper bound of scrypt memory (128 · N · r bytes plus slack) a vault may demand. */
  scryptMemoryBytesMax: 1024 * 1024 * 1024,
  /** A keyring tool that does not answer in time makes the keyring source unavailable. */
  keyringTimeoutMs: 5_000,
  keyringOutputBytesMax: 64 * 1024,
} as const;

/** The pattern every secret name matches. */
export const secretNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True when `name` can name a secret (and therefore appear inside a `[REDACTED:name]` marker). */
export function isSecretName(name: string): boolean {
  return secretNamePattern.test(name);
}
