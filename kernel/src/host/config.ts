/**
 * The user's configuration: `$CRUSTCORE_CONFIG`, else `$XDG_CONFIG_HOME/crustcore/config.json`,
 * else `~/.config/crustcore/config.json`. It is trusted (the user's own file), optional, and
 * validated strictly: an unknown key or a bad value is an error that names its JSON path. The
 * schema for editors is `docs/config.schema.json`; the two are kept in step by a test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** How much the user wants to confirm (see `kernel/src/policy/action-class.ts`). */
export type ReviewModeSetting = 'auto' | 'approve-before-merge' | 'approve-before-execute' | 'approve-every-step';

/** A validated configuration. Every field has a default, so an absent file is the empty config. */
export interface Config {
  /** Where it was read from; null when no file exists. */
  readonly path: string | null;
  readonly reviewMode: ReviewModeSetting;
  readonly secrets: {
    /** Secret name → the environment variable it is read from (once, then removed from the env). */
    readonly env: Readonly<Record<string, string>>;
    /** The encrypted vault file, if any. */
    readonly vault: string | null;
    /** The variable holding the vault passphrase when there is no TTY. */
    readonly vaultPassphraseEnv: string;
    /** Look secrets up in the OS keyring too. */
    readonly keyring: boolean;
  };
  readonly protectedPaths: {
    /** Globs accepted without approval, as if passed with `--allow-protected`. */
    readonly allow: readonly string[];
    /** Extra protected rules beside the defaults. */
    readonly extra: readonly { readonly rule: string; readonly globs: readonly string[] }[];
  };
  /** A policy rules file (see `kernel/src/policy/rules.ts`), or null. */
  readonly rulesFile: string | null;
  /** Sidecar name → the command that starts it (argv); absent names use the bundled default. */
  readonly sidecars: Readonly<Record<string, readonly string[]>>;
  /** Model providers by name: where they live and which secret holds their key. */
  readonly providers: Readonly<Record<string, ProviderSetting>>;
}

/** One configured model provider. */
export interface ProviderSetting {
  readonly kind: 'openai-compatible' | 'anthropic' | 'mock';
  readonly baseUrl: string | null;
  /** The secret name of the API key, or null for a keyless (local) provider. */
  readonly secret: string | null;
  /** Loopback and private addresses are allowed only for a provider marked local. */
  readonly local: boolean;
  /** What the provider charges, so a cost budget can be measured; null when not configured. */
  readonly pricing: ProviderPricing | null;
}

/** A provider's prices in micro-units of the billing currency per million tokens. */
export interface ProviderPricing {
  readonly inputMicrosPerMillionTokens: number;
  readonly outputMicrosPerMillionTokens: number;
}

/** Bounds of the configuration's numbers. */
export const ConfigLimits = {
  /** Highest price per million tokens, in micros (1000 units of currency per million tokens). */
  priceMicrosPerMillionTokensMax: 1_000_000_000,
} as const;

/** A configuration that cannot be used: one line naming the file, the JSON path and the problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const reviewModes: readonly ReviewModeSetting[] = [
  'auto',
  'approve-before-merge',
  'approve-before-execute',
  'approve-every-step',
];
const providerKinds: readonly ProviderSetting['kind'][] = ['openai-compatible', 'anthropic', 'mock'];
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const secretName = /^[A-Za-z0-9_.-]{1,64}$/;
/** Bytes of config read at most: a config is small; anything larger is a mistake. */
export const configBytesMax = 1024 * 1024;

/** The empty configuration (no file). */
export const defaultConfig: Config = Object.freeze({
  path: null,
  reviewMode: 'approve-before-merge',
  secrets: { env: {}, vault: null, vaultPassphraseEnv: 'CRUSTCORE_VAULT_PASSPHRASE', keyring: false },
  protectedPaths: { allow: [], extra: [] },
  rulesFile: null,
  sidecars: {},
  providers: {},
});

/** Where the configuration file is looked for. */
export function configPath(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env['CRUSTCORE_CONFIG'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const base = env['XDG_CONFIG_HOME'] ?? join(env['HOME'] ?? homedir(), '.config');
  return join(base, 'crustcore', 'config.json');
}

/** Reads and validates the configuration; an absent file is the default configuration. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const path = configPath(env);
  if (!existsSync(path)) {
    if (env['CRUSTCORE_CONFIG'] !== undefined && env['CRUSTCORE_CONFIG'] !== '') {
      throw new ConfigError(
        `config ${path} (from CRUSTCORE_CONFIG) does not exist; create it or unset CRUSTCORE_CONFIG`,
      );
    }
    return defaultConfig;
  }
  const bytes = readFileSync(path);
  if (bytes.byteLength > configBytesMax) throw new ConfigError(`config ${path} is larger than ${configBytesMax} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ConfigError(`config ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(value, path);
}

/** Validates a parsed configuration; `path` names the file in error messages. */
export function parseConfig(value: unknown, path: string): Config {
  const fail = (at: string, problem: string): never => {
    throw new ConfigError(`config ${path}: ${at}: ${problem}`);
  };
  const root = object(value, '$', fail);
  only(root, '$', ['$schema', 'reviewMode', 'secrets', 'protectedPaths', 'rulesFile', 'sidecars', 'providers'], fail);
  const reviewMode =
    root['reviewMode'] === undefined
      ? defaultConfig.reviewMode
      : oneOf(root['reviewMode'], 'reviewMode', reviewModes, fail);

  const secretsValue = root['secrets'] === undefined ? {} : object(root['secrets'], 'secrets', fail);
  only(secretsValue, 'secrets', ['env', 'vault', 'vaultPassphraseEnv', 'keyring'], fail);
  const envMap: Record<string, string> = {};
  const envValue = secretsValue['env'] === undefined ? {} : object(secretsValue['env'], 'secrets.env', fail);
  for (const [name, variable] of Object.entries(envValue)) {
    if (!secretName.test(name)) fail(`secrets.env.${name}`, 'a secret name is 1-64 letters, digits, _ . or -');
    if (typeof variable !== 'string' || !envName.test(variable))
      fail(`secrets.env.${name}`, 'expected an environment variable name');
    envMap[name] = variable as string;
  }
  const vault = secretsValue['vault'] === undefined ? null : absolutePath(secretsValue['vault'], 'secrets.vault', fail);
  const passphraseEnv =
    secretsValue['vaultPassphraseEnv'] === undefined
      ? defaultConfig.secrets.vaultPassphraseEnv
      : string(secretsValue['vaultPassphraseEnv'], 'secrets.vaultPassphraseEnv', fail);
  if (!envName.test(passphraseEnv)) fail('secrets.vaultPassphraseEnv', 'expected an environment variable name');
  const keyring =
    secretsValue['keyring'] === undefined ? false : boolean(secretsValue['keyring'], 'secrets.keyring', fail);

  const protectedValue =
    root['protectedPaths'] === undefined ? {} : object(root['protectedPaths'], 'protectedPaths', fail);
  only(protectedValue, 'protectedPaths', ['allow', 'extra'], fail);
  const allow =
    protectedValue['allow'] === undefined ? [] : strings(protectedValue['allow'], 'protectedPaths.allow', fail);
  const extraValue =
    protectedValue['extra'] === undefined ? [] : array(protectedValue['extra'], 'protectedPaths.extra', fail);
  const extra = extraValue.map((entry, index) => {
    const at = `protectedPaths.extra[${index}]`;
    const rule = object(entry, at, fail);
    only(rule, at, ['rule', 'globs'], fail);
    return { rule: string(rule['rule'], `${at}.rule`, fail), globs: strings(rule['globs'], `${at}.globs`, fail) };
  });

  const rulesFile = root['rulesFile'] === undefined ? null : absolutePath(root['rulesFile'], 'rulesFile', fail);

  const sidecarsValue = root['sidecars'] === undefined ? {} : object(root['sidecars'], 'sidecars', fail);
  const sidecars: Record<string, readonly string[]> = {};
  for (const [name, entry] of Object.entries(sidecarsValue)) {
    const at = `sidecars.${name}`;
    const sidecar = object(entry, at, fail);
    only(sidecar, at, ['command'], fail);
    const command = strings(sidecar['command'], `${at}.command`, fail);
    if (command.length === 0) fail(`${at}.command`, 'expected at least the program');
    sidecars[name] = command;
  }

  const providersValue = root['providers'] === undefined ? {} : object(root['providers'], 'providers', fail);
  const providers: Record<string, ProviderSetting> = {};
  for (const [name, entry] of Object.entries(providersValue)) {
    const at = `providers.${name}`;
    const provider = object(entry, at, fail);
    only(provider, at, ['kind', 'baseUrl', 'secret', 'local', 'pricing'], fail);
    const secret = provider['secret'] === undefined ? null : string(provider['secret'], `${at}.secret`, fail);
    if (secret !== null && !secretName.test(secret))
      fail(`${at}.secret`, 'a secret name is 1-64 letters, digits, _ . or -');
    providers[name] = {
      kind: oneOf(provider['kind'], `${at}.kind`, providerKinds, fail),
      baseUrl: provider['baseUrl'] === undefined ? null : url(provider['baseUrl'], `${at}.baseUrl`, fail),
      secret,
      local: provider['local'] === undefined ? false : boolean(provider['local'], `${at}.local`, fail),
      pricing: provider['pricing'] === undefined ? null : pricing(provider['pricing'], `${at}.pricing`, fail),
    };
  }

  return {
    path,
    reviewMode,
    secrets: { env: envMap, vault, vaultPassphraseEnv: passphraseEnv, keyring },
    protectedPaths: { allow, extra },
    rulesFile,
    sidecars,
    providers,
  };
}

type Fail = (at: string, problem: string) => never;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
}

function object(value: unknown, at: string, fail: Fail): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(at, `expected an object, got ${describe(value)}`);
  return value as Readonly<Record<string, unknown>>;
}

function only(value: Readonly<Record<string, unknown>>, at: string, keys: readonly string[], fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      fail(
        at === '$' ? key : `${at}.${key}`,
        `unknown key; expected one of ${keys.filter((k) => k !== '$schema').join(', ')}`,
      );
  }
}

function array(value: unknown, at: string, fail: Fail): readonly unknown[] {
  if (!Array.isArray(value)) return fail(at, `expected an array, got ${describe(value)}`);
  return value as readonly unknown[];
}

function string(value: unknown, at: string, fail: Fail): string {
  if (typeof value !== 'string' || value === '') return fail(at, `expected a non-empty string, got ${describe(value)}`);
  return value;
}

function strings(value: unknown, at: string, fail: Fail): readonly string[] {
  return array(value, at, fail).map((entry, index) => string(entry, `${at}[${index}]`, fail));
}

function boolean(value: unknown, at: string, fail: Fail): boolean {
  if (typeof value !== 'boolean') return fail(at, `expected true or false, got ${describe(value)}`);
  return value;
}

function pricing(value: unknown, at: string, fail: Fail): ProviderPricing {
  const entry = object(value, at, fail);
  const keys = ['inputMicrosPerMillionTokens', 'outputMicrosPerMillionTokens'] as const;
  only(entry, at, keys, fail);
  const price = (key: (typeof keys)[number]): number => {
    const amount = entry[key];
    const max = ConfigLimits.priceMicrosPerMillionTokensMax;
    if (amount === undefined) return fail(`${at}.${key}`, 'missing; give both the input and the output price');
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 0 || amount > max) {
      const got = typeof amount === 'number' ? String(amount) : describe(amount);
      return fail(`${at}.${key}`, `expected a whole number of micros from 0 to ${max}, got ${got}`);
    }
    return amount;
  };
  return { inputMicrosPerMillionTokens: price(keys[0]), outputMicrosPerMillionTokens: price(keys[1]) };
}

function oneOf<T extends string>(value: unknown, at: string, options: readonly T[], fail: Fail): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
    return fail(at, `expected ${options.map((o) => JSON.stringify(o)).join(' | ')}, got ${describe(value)}`);
  }
  return value as T;
}

function absolutePath(value: unknown, at: string, fail: Fail): string {
  const path = string(value, at, fail);
  if (!isAbsolute(path)) fail(at, `expected an absolute path, got ${JSON.stringify(path)}`);
  return path;
}

function url(value: unknown, at: string, fail: Fail): string {
  const text = string(value, at, fail);
  let protocol: string;
  try {
    protocol = new URL(text).protocol;
  } catch {
    return fail(at, `expected a URL, got ${describe(text)}`);
  }
  if (protocol !== 'https:' && protocol !== 'http:') fail(at, 'expected an http(s) URL');
  return text;
}
