/**
 * The secrets boundary of one `crustcore` process. At start it reads the secrets mapped in the
 * user's config (`secrets.env`) and the vault passphrase variables from the environment and
 * deletes them from it, before any child process exists; on request it opens the vault (only when
 * the passphrase is at hand, never by prompting) and the OS keyring. It owns the redactor every
 * outbound string passes through, and turns every `Secret.expose(purpose)` into a `secretExposed`
 * fact for the log of the task that is running.
 */
import { existsSync } from 'node:fs';
import { createBroker } from '../secrets/broker.js';
import { passphraseEnvVar } from '../secrets/passphrase.js';
import { createRedactor, type RedactionSecret, type Redactor } from '../secrets/redact.js';
import { onExpose, Secret } from '../secrets/secret.js';
import { formatSecretsError } from '../secrets/secrets-error.js';
import { isSecretName } from '../secrets/limits.js';
import { defaultVaultPath, newPassphraseEnvVar } from '../secrets/vault-cli.js';
import type { Config } from './config.js';
import { flagHiddenText } from './hidden-text.js';

/** Bounds of the boundary. */
export const SecretsBoundaryLimits = {
  /** `--worker-env` names taken from argv; more are a usage mistake, not a need. */
  grantedNamesMax: 64,
} as const;

/** A recorded `Secret.expose`: the name and the purpose, never the value. */
export type Exposure = { readonly name: string; readonly purpose: string };

/** Receives exposures while a task runs. */
export type ExposureListener = (exposure: Exposure) => void;

/** What `openSecretsBoundary` reads. */
export type SecretsBoundaryOptions = {
  /** The process environment; mapped secrets and passphrases are deleted from it. */
  readonly env: Record<string, string | undefined>;
  readonly config: Config;
  /** The command line: values of variables granted with `--worker-env NAME` are redacted too. */
  readonly argv: readonly string[];
};

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The variable names `--worker-env NAME` / `--worker-env=NAME` grant anywhere in `argv` (an over-approximation). */
export function grantedEnvNames(argv: readonly string[]): readonly string[] {
  const names = new Set<string>();
  for (let index = 0; index < argv.length && names.size < SecretsBoundaryLimits.grantedNamesMax; index++) {
    const arg = argv[index] ?? '';
    const value = arg === '--worker-env' ? argv[index + 1] : arg.startsWith('--worker-env=') ? arg.slice(13) : null;
    if (value !== null && value !== undefined && envName.test(value)) names.add(value);
  }
  return [...names];
}

/** A marker name for a granted variable that fits `secretNamePattern`. */
function grantMarkerName(variable: string): string {
  const name = `worker-env.${variable}`;
  return isSecretName(name) ? name : 'worker-env';
}

/** The vault the boundary reads: `$CRUSTCORE_VAULT`, then `secrets.vault`, then the state dir's default. */
export function vaultPathOf(config: Config, env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env['CRUSTCORE_VAULT'];
  if (explicit !== undefined && explicit !== '') return explicit;
  return config.secrets.vault ?? defaultVaultPath(env);
}

/** The secrets boundary; see the module comment. Build it with `openSecretsBoundary`. */
export class SecretsBoundary {
  readonly #config: Config;
  readonly #env: Record<string, string | undefined>;
  /** Every value the redactor must know, by marker name (values leave their `Secret` once, here). */
  readonly #needles: RedactionSecret[] = [];
  readonly #envSecrets = new Map<string, Secret>();
  readonly #passphrase: Secret | null;
  readonly #newPassphrase: Secret | null;
  readonly #startup: Exposure[] = [];
  readonly #listeners = new Set<ExposureListener>();
  readonly #unregister: () => void;
  #redactor: Redactor;
  #storedLoaded = false;
  #reveal: ((text: string) => void) | null = null;

  /** Use `openSecretsBoundary`. */
  constructor(
    config: Config,
    env: Record<string, string | undefined>,
    passphrase: Secret | null,
    newPassphrase: Secret | null,
  ) {
    this.#config = config;
    this.#env = env;
    this.#passphrase = passphrase;
    this.#newPassphrase = newPassphrase;
    // Every exposure in this process, whichever module made the Secret, reaches the audit trail.
    this.#unregister = onExpose((name, purpose) => this.#exposed({ name, purpose }));
    this.#redactor = createRedactor([]);
  }

  /** The user's validated configuration. */
  get config(): Config {
    return this.#config;
  }

  /** The redactor over every secret known so far, and the token shapes. */
  get redactor(): Redactor {
    return this.#redactor;
  }

  /** The names of the secrets the redactor knows (not secret), sorted. */
  get knownNames(): readonly string[] {
    return [...new Set(this.#needles.map((needle) => needle.name))].sort();
  }

  /** Redacts, then neutralises hidden text: the form of any untrusted text the kernel prints or logs. */
  clean(text: string): string {
    return flagHiddenText(this.#redactor.redact(text)).text;
  }

  /** The vault passphrase read from the environment at start, if any. */
  get passphrase(): Secret | null {
    return this.#passphrase;
  }

  /** The new vault passphrase (`CRUSTCORE_VAULT_NEW_PASSPHRASE`) read at start, if any. */
  get newPassphrase(): Secret | null {
    return this.#newPassphrase;
  }

  /** The secret read at start from environment variable `variable` (mapped in `secrets.env`). */
  envSecretOf(variable: string): Secret | undefined {
    return this.#envSecrets.get(variable);
  }

  /**
   * Delivers every later exposure to `listener` (the running task's log), after replaying the ones
   * made before any task started (the redactor's own). Returns the unsubscribe function.
   */
  recordExposures(listener: ExposureListener): () => void {
    for (const exposure of this.#startup) listener(exposure);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Opens the vault (when its passphrase was in the environment) and the keyring (when enabled),
   * and adds what they hold to the redactor. Never prompts. Returns a one-line error when a vault
   * that exists cannot be opened; its secrets would then be unknown to the redactor.
   */
  async loadStoredSecrets(): Promise<string | null> {
    if (this.#storedLoaded) return null;
    this.#storedLoaded = true;
    const vaultPath = vaultPathOf(this.#config, this.#env);
    const names = [
      ...Object.keys(this.#config.secrets.env),
      ...Object.values(this.#config.providers).flatMap((provider) =>
        provider.secret === null ? [] : [provider.secret],
      ),
    ];
    const useVault = this.#passphrase !== null && existsSync(vaultPath);
    if (!useVault && !this.#config.secrets.keyring) return null;
    const broker = await createBroker({
      names,
      ...(useVault && this.#passphrase !== null ? { vault: { path: vaultPath, passphrase: this.#passphrase } } : {}),
      ...(this.#config.secrets.keyring ? { keyring: { env: this.#env } } : {}),
    });
    if (!broker.ok) return formatSecretsError(broker.error);
    this.#learn(broker.value.knownSecrets());
    return null;
  }

  /** Sets where `reveal` writes: the process's stdout, past the redactor. */
  setRevealSink(sink: ((text: string) => void) | null): void {
    this.#reveal = sink;
  }

  /**
   * Writes text the user explicitly asked to see unredacted (`crustcore secrets get --reveal`).
   * Returns false when no reveal sink is set (then nothing is written).
   */
  reveal(text: string): boolean {
    if (this.#reveal === null) return false;
    this.#reveal(text);
    return true;
  }

  /** Stops recording exposures (the process is ending). */
  close(): void {
    this.#unregister();
    this.#listeners.clear();
  }

  /** Adds secrets to the redactor; each value leaves its wrapper once, audited as `redaction boundary`. */
  #learn(secrets: readonly Secret[]): void {
    for (const secret of secrets) this.#needles.push({ name: secret.name, value: secret.expose('redaction boundary') });
    this.#rebuild();
  }

  /** Adds plain values (granted variables) to the redactor. */
  learnValues(values: readonly RedactionSecret[]): void {
    this.#needles.push(...values);
    this.#rebuild();
  }

  #rebuild(): void {
    this.#redactor = createRedactor(this.#needles);
  }

  #exposed(exposure: Exposure): void {
    if (this.#listeners.size === 0) {
      this.#startup.push(exposure);
      return;
    }
    for (const listener of [...this.#listeners]) listener(exposure);
  }

  /** @internal Used by `openSecretsBoundary` to record what it read from the environment. */
  adoptEnvSecrets(secrets: ReadonlyMap<string, Secret>): void {
    for (const [variable, secret] of secrets) this.#envSecrets.set(variable, secret);
    const extra = [this.#passphrase, this.#newPassphrase].filter((secret): secret is Secret => secret !== null);
    this.#learn([...secrets.values(), ...extra]);
  }
}

/**
 * Builds the boundary: reads the secrets mapped in `config.secrets.env` and the vault passphrase
 * variables, deletes them from `env`, and learns the values of variables granted to a worker. The
 * vault and keyring are read later, by `loadStoredSecrets`, only for commands that print.
 */
export function openSecretsBoundary(options: SecretsBoundaryOptions): SecretsBoundary {
  const { env, config } = options;
  const takePassphrase = (variable: string, name: string): Secret | null => {
    const value = env[variable];
    delete env[variable];
    return value === undefined || value === '' ? null : new Secret(name, value);
  };
  const passphrase =
    takePassphrase(config.secrets.vaultPassphraseEnv, 'vault-passphrase') ??
    takePassphrase(passphraseEnvVar, 'vault-passphrase');
  if (config.secrets.vaultPassphraseEnv !== passphraseEnvVar) delete env[passphraseEnvVar];
  const newPassphrase = takePassphrase(newPassphraseEnvVar, 'vault-new-passphrase');
  const boundary = new SecretsBoundary(config, env, passphrase, newPassphrase);

  // Read and delete every mapped variable before anything else can fail, so no child inherits one.
  const fromEnv = new Map<string, Secret>();
  for (const [name, variable] of Object.entries(config.secrets.env)) {
    const value = env[variable];
    delete env[variable];
    if (value === undefined || value === '') continue;
    fromEnv.set(variable, new Secret(isSecretName(name) ? name : 'secret', value));
  }
  boundary.adoptEnvSecrets(fromEnv);

  const granted: RedactionSecret[] = [];
  for (const variable of grantedEnvNames(options.argv)) {
    const value = env[variable];
    if (value !== undefined && value !== '') granted.push({ name: grantMarkerName(variable), value });
  }
  if (granted.length > 0) boundary.learnValues(granted);
  return boundary;
}

let active: SecretsBoundary | null = null;

/** Makes `boundary` the process's boundary (the CLI does this once at start); returns the uninstall function. */
export function installSecretsBoundary(boundary: SecretsBoundary): () => void {
  active = boundary;
  return () => {
    if (active === boundary) active = null;
  };
}

/** The process's boundary, or null when none was installed (in-process tests, embedding). */
export function activeSecretsBoundary(): SecretsBoundary | null {
  return active;
}

/** The active boundary's redactor, or one that knows only the token shapes. */
export function activeRedactor(): Redactor {
  return active?.redactor ?? shapeOnlyRedactor;
}

const shapeOnlyRedactor = createRedactor([]);

/** Redacts and neutralises one string with the active boundary (token shapes only when none is installed). */
export function activeClean(text: string): string {
  return flagHiddenText(activeRedactor().redact(text)).text;
}

/**
 * Cleans every string (keys included) of one JSON text with `activeClean`; returns the text
 * unchanged when nothing needed cleaning, so a clean record keeps its exact bytes.
 */
export function cleanJsonText(text: string): string {
  let changed = false;
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const clean = activeClean(value);
      if (clean !== value) changed = true;
      return clean;
    }
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [walk(key) as string, walk(item)]));
    }
    return value;
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: return something the caller's own check refuses, so the export stops there.
    return '';
  }
  const cleaned = walk(parsed);
  return changed ? JSON.stringify(cleaned) : text;
}
