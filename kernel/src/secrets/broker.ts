import { keyringLookup } from './keyring.js';
import type { KeyringOptions } from './keyring.js';
import { isSecretName } from './limits.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import { Secret } from './secret.js';
import type { ExposeAudit } from './secret.js';
import type { SecretSource, SecretsError, SourceStatus } from './secrets-error.js';
import { vaultReadAll } from './vault.js';

/** Where a broker finds secrets; every source is optional. */
export type BrokerOptions = {
  /** Names the host will ask for; a name that env and the vault lack is looked up in the keyring. */
  readonly names?: readonly string[];
  /** Secret name → environment variable. Each variable is read once, then deleted from `env`. */
  readonly envVariables?: Readonly<Record<string, string>>;
  /** The environment to read from and delete from; the host passes `process.env`. */
  readonly env?: Record<string, string | undefined>;
  /** An encrypted vault; a missing file makes the source unavailable, any other vault error fails. */
  readonly vault?: { readonly path: string; readonly passphrase: Secret };
  /** The OS keyring; omitted means not configured. */
  readonly keyring?: KeyringOptions;
  /** The audit hook every secret the broker hands out carries. */
  readonly onExpose?: ExposeAudit;
};

/** Why `get` found nothing. */
export type SecretMissing = Extract<SecretsError, { code: 'secretMissing' }>;

type Found = { readonly secret: Secret; readonly source: SecretSource };

/**
 * Resolves named secrets, once, at start: environment first, then the vault, then the keyring.
 * After `createBroker` returns, the mapped environment variables are gone from `env` (so no child
 * process inherits them; `/proc/<pid>/environ` still shows the initial environment to the same
 * user, which is why the sandbox must not see the kernel's processes).
 */
export class SecretBroker {
  readonly #found: ReadonlyMap<string, Found>;
  readonly #all: readonly Secret[];
  readonly #statuses: ReadonlyMap<string, readonly SourceStatus[]>;
  readonly #sourceStatus: Readonly<Record<SecretSource, SourceStatus>>;

  /** Use `createBroker`. */
  constructor(
    found: ReadonlyMap<string, Found>,
    all: readonly Secret[],
    statuses: ReadonlyMap<string, readonly SourceStatus[]>,
    sourceStatus: Readonly<Record<SecretSource, SourceStatus>>,
  ) {
    this.#found = found;
    this.#all = all;
    this.#statuses = statuses;
    this.#sourceStatus = sourceStatus;
    Object.freeze(this);
  }

  /** The secret called `name`, or `secretMissing` listing what each source said. */
  get(name: string): Result<Secret, SecretMissing> {
    const found = this.#found.get(name);
    if (found !== undefined) return ok(found.secret);
    const sources = this.#statuses.get(name) ?? [
      this.#sourceStatus.env,
      this.#sourceStatus.vault,
      this.#sourceStatus.keyring,
    ];
    return fail({ code: 'secretMissing', name, sources });
  }

  /** Which source supplied `name`, if any. */
  sourceOf(name: string): SecretSource | undefined {
    return this.#found.get(name)?.source;
  }

  /** The names that resolved, sorted. */
  names(): readonly string[] {
    return [...this.#found.keys()].sort();
  }

  /** Every secret value any source supplied (shadowed ones too): the redactor must know them all. */
  knownSecrets(): readonly Secret[] {
    return this.#all;
  }
}

/** Reads every configured source and returns the broker, or the first configuration or vault error. */
export async function createBroker(options: BrokerOptions): Promise<Result<SecretBroker, SecretsError>> {
  const secretOptions = options.onExpose === undefined ? {} : { onExpose: options.onExpose };
  const envVariables = Object.entries(options.envVariables ?? {});
  const wanted = [...new Set([...(options.names ?? []), ...envVariables.map(([name]) => name)])];
  for (const name of wanted) if (!isSecretName(name)) return fail({ code: 'secretNameInvalid', name });

  const all: Secret[] = [];
  const fromEnv = new Map<string, Secret>();
  const env = options.env ?? {};
  for (const [name, variable] of envVariables) {
    const value = env[variable];
    delete env[variable];
    if (value === undefined || value === '') continue;
    const secret = new Secret(name, value, secretOptions);
    fromEnv.set(name, secret);
    all.push(secret);
  }

  let fromVault: ReadonlyMap<string, Secret> = new Map();
  let vaultStatus: SourceStatus = { source: 'vault', status: 'notConfigured' };
  if (options.vault !== undefined) {
    const read = await vaultReadAll(options.vault.path, options.vault.passphrase, secretOptions);
    if (read.ok) {
      fromVault = read.value;
      all.push(...read.value.values());
      vaultStatus = { source: 'vault', status: 'notFound' };
    } else if (read.error.code === 'vaultMissing') {
      vaultStatus = { source: 'vault', status: 'unavailable', reason: `no vault at ${options.vault.path}` };
    } else {
      return read;
    }
  }

  let keyringStatus: SourceStatus =
    options.keyring === undefined
      ? { source: 'keyring', status: 'notConfigured' }
      : { source: 'keyring', status: 'notFound' };
  const fromKeyring = new Map<string, Secret>();
  const keyringMisses = new Map<string, SourceStatus>();
  if (options.keyring !== undefined) {
    for (const name of wanted) {
      if (fromEnv.has(name) || fromVault.has(name) || keyringStatus.status === 'unavailable') continue;
      const lookup = await keyringLookup(name, { ...options.keyring, env: options.keyring.env ?? env });
      if (lookup.found) {
        const secret = new Secret(name, lookup.value, secretOptions);
        fromKeyring.set(name, secret);
        all.push(secret);
      } else if (lookup.status === 'unavailable') {
        // One failure (tool missing, no session bus, timeout) stands for every later lookup.
        keyringStatus = { source: 'keyring', status: 'unavailable', reason: lookup.reason };
      } else {
        keyringMisses.set(name, { source: 'keyring', status: 'notFound' });
      }
    }
  }

  const found = new Map<string, Found>();
  const statuses = new Map<string, readonly SourceStatus[]>();
  const envStatusFor = (name: string): SourceStatus => {
    const variable = options.envVariables?.[name];
    return variable === undefined
      ? { source: 'env', status: 'notConfigured' }
      : { source: 'env', status: 'notFound', reason: `${variable} is not set` };
  };
  for (const [name, secret] of fromKeyring) found.set(name, { secret, source: 'keyring' });
  for (const [name, secret] of fromVault) found.set(name, { secret, source: 'vault' });
  for (const [name, secret] of fromEnv) found.set(name, { secret, source: 'env' });
  for (const name of wanted) {
    if (found.has(name)) continue;
    const keyring = keyringStatus.status === 'unavailable' ? keyringStatus : (keyringMisses.get(name) ?? keyringStatus);
    statuses.set(name, [envStatusFor(name), vaultStatus, keyring]);
  }
  const sourceStatus = {
    env: { source: 'env', status: 'notConfigured' },
    vault: vaultStatus,
    keyring:
      keyringStatus.status === 'notFound'
        ? { source: 'keyring', status: 'notConfigured', reason: 'not in the broker names' }
        : keyringStatus,
  } as const satisfies Record<SecretSource, SourceStatus>;
  return ok(new SecretBroker(found, all, statuses, sourceStatus));
}
