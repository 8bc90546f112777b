import { assertNever } from './result.js';

/** A place a broker looks for secrets. */
export type SecretSource = 'env' | 'vault' | 'keyring';

/** Why a source did not supply a secret. */
export type SourceStatus = {
  readonly source: SecretSource;
  readonly status: 'notConfigured' | 'notFound' | 'unavailable';
  /** For `unavailable`: why, without any secret material. */
  readonly reason?: string;
};

/** Every expected failure of the secrets module, discriminated by `code`. */
export type SecretsError =
  | { readonly code: 'secretMissing'; readonly name: string; readonly sources: readonly SourceStatus[] }
  | { readonly code: 'secretNameInvalid'; readonly name: string }
  | { readonly code: 'secretTooLong'; readonly name: string; readonly charsMax: number }
  | { readonly code: 'vaultMissing'; readonly path: string }
  | { readonly code: 'vaultExists'; readonly path: string }
  | { readonly code: 'vaultWrongPassphrase'; readonly path: string }
  | { readonly code: 'vaultCorrupted'; readonly path: string; readonly reason: string }
  | { readonly code: 'vaultUnsupportedVersion'; readonly path: string; readonly version: number }
  | { readonly code: 'vaultInsecurePermissions'; readonly path: string; readonly reason: string }
  | { readonly code: 'vaultTooLarge'; readonly path: string; readonly bytes: number; readonly bytesMax: number }
  | { readonly code: 'vaultIoFailed'; readonly path: string; readonly reason: string }
  | { readonly code: 'vaultEntryMissing'; readonly path: string; readonly name: string }
  | { readonly code: 'passphraseTooShort'; readonly charsMin: number }
  | { readonly code: 'passphraseMismatch' }
  | { readonly code: 'passphraseUnavailable'; readonly envVarName: string }
  | { readonly code: 'passphraseCancelled' };

const describeSource = ({ source, status, reason }: SourceStatus): string =>
  reason === undefined ? `${source}: ${status}` : `${source}: ${status} (${reason})`;

/** One line for a human: what failed, why, what to do. Never contains a secret value. */
export function formatSecretsError(error: SecretsError): string {
  switch (error.code) {
    case 'secretMissing':
      return `secret ${error.name} is not available (${error.sources.map(describeSource).join('; ')}); set it with \`crustcore secrets set ${error.name}\` or map it to an environment variable.`;
    case 'secretNameInvalid':
      return `invalid secret name ${JSON.stringify(error.name.slice(0, 80))}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`;
    case 'secretTooLong':
      return `secret ${error.name} is longer than ${error.charsMax} characters; store a shorter credential.`;
    case 'vaultMissing':
      return `vault ${error.path} does not exist; create it with \`crustcore secrets set <name>\`.`;
    case 'vaultExists':
      return `vault ${error.path} already exists; use \`crustcore secrets set\` to change it or \`rotate\` to change its passphrase.`;
    case 'vaultWrongPassphrase':
      return `cannot open vault ${error.path}: wrong passphrase (or the header's salt or KDF fields were altered); check CRUSTCORE_VAULT_PASSPHRASE.`;
    case 'vaultCorrupted':
      return `vault ${error.path} is damaged or was tampered with: ${error.reason}; restore it from a backup.`;
    case 'vaultUnsupportedVersion':
      return `vault ${error.path} has format version ${error.version}, which this crustcore does not read; upgrade crustcore.`;
    case 'vaultInsecurePermissions':
      return `refusing vault ${error.path}: ${error.reason}; run \`chmod 600 ${error.path}\` and make sure you own it.`;
    case 'vaultTooLarge':
      return `vault ${error.path} is ${error.bytes} bytes, more than the ${error.bytesMax} allowed; remove secrets you no longer use.`;
    case 'vaultIoFailed':
      return `vault ${error.path}: ${error.reason}; the vault on disk was not changed.`;
    case 'vaultEntryMissing':
      return `vault ${error.path} has no secret named ${error.name}; \`crustcore secrets list\` shows the names it has.`;
    case 'passphraseTooShort':
      return `the vault passphrase is too short: use at least ${error.charsMin} characters.`;
    case 'passphraseMismatch':
      return 'the two passphrases differ; nothing was changed, try again.';
    case 'passphraseUnavailable':
      return `no vault passphrase: set ${error.envVarName} or run from a terminal to be prompted.`;
    case 'passphraseCancelled':
      return 'passphrase entry cancelled; nothing was changed.';
    default:
      return assertNever(error);
  }
}
