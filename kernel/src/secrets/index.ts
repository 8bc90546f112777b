/**
 * Secrets: the sealed `Secret`, the broker that resolves them (env, vault, keyring), the encrypted
 * vault, and the redaction boundary every outbound string passes through.
 */
export { Secret, onExpose } from './secret.js';
export type { ExposeAudit, SecretOptions } from './secret.js';
export { createBroker, SecretBroker } from './broker.js';
export type { BrokerOptions, SecretMissing } from './broker.js';
export { keyringLookup, keyringService } from './keyring.js';
export type { KeyringLookup, KeyringOptions } from './keyring.js';
export { vaultCreate, vaultGet, vaultList, vaultReadAll, vaultRemove, vaultRotate, vaultSet } from './vault.js';
export type { VaultWriteOptions } from './vault.js';
export { defaultKdf, VaultFormat } from './vault-format.js';
export type { KdfParams } from './vault-format.js';
export { passphraseEnvVar, promptHidden, readPassphrase } from './passphrase.js';
export type { PassphraseOptions } from './passphrase.js';
export { defaultVaultPath, newPassphraseEnvVar, runSecretsCommand, SecretsExitCode } from './vault-cli.js';
export type { SecretsCommandIo } from './vault-cli.js';
export { createRedactor, redactionMarker, redactorForSecrets } from './redact.js';
export type { RedactionSecret, RedactionStream, Redactor } from './redact.js';
export { encodingsOf, EncodingKinds } from './encodings.js';
export type { EncodedForm, EncodingKind } from './encodings.js';
export { tokenShapes } from './token-shapes.js';
export type { TokenShape } from './token-shapes.js';
export { leakedForms, makeCanary } from './canary.js';
export type { Canary } from './canary.js';
export { formatSecretsError } from './secrets-error.js';
export type { SecretSource, SecretsError, SourceStatus } from './secrets-error.js';
export { isSecretName, SecretLimits, secretNamePattern } from './limits.js';
export type { Result } from './result.js';
