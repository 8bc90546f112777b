/**
 * Which model the native agent talks to, resolved from `--model <provider>:<model>`, the scripted
 * mock's `--script`, and the user's configuration. Nothing here holds a key: the candidate names
 * the secret, and the loop asks `secret(name)` for it at the one call that needs it.
 */
import { isAbsolute, resolve } from 'node:path';
import type { SidecarCommand } from '../rpc/index.js';
import { isSecretName } from '../secrets/limits.js';
import { Secret } from '../secrets/secret.js';
import { configPath, loadConfig, type Config, type ProviderPricing, type ProviderSetting } from './config.js';
import { sidecarCommandFor } from './sidecar-supervisor.js';

/** Bounds of the agent's model use. */
export const AgentModelLimits = {
  /** Model turns per attempt when `--turns` is not given. */
  turnsDefault: 24,
  turnsMax: 200,
  /** Tokens one completion may produce. */
  maxTokens: 4_096,
  /** Time one completion may take. */
  completionTimeoutMs: 5 * 60_000,
} as const;

/** One provider entry of the net sidecar's `--config` file (no secrets: a key travels per call). */
export interface NetProviderEntry {
  readonly kind: 'mock' | 'scripted' | 'openai-compatible' | 'anthropic';
  readonly baseUrl?: string;
  readonly local: boolean;
  readonly script?: string;
}

/** A resolved model: where completions go and which secret, if any, authorises them. */
export interface ModelCandidate {
  /** As given on the command line, e.g. `mock:scripted`. */
  readonly label: string;
  /** The `provider` of `net/complete`. */
  readonly provider: string;
  readonly model: string;
  /** Model turns per attempt. */
  readonly turnsMax: number;
  /** How to start the net sidecar. */
  readonly sidecar: SidecarCommand;
  /**
   * Providers written to a private config file passed as `--config` to the bundled net sidecar;
   * null for a user-configured sidecar command, which is run exactly as configured.
   */
  readonly netProviders: Readonly<Record<string, NetProviderEntry>> | null;
  /** The secret holding the provider key; null for keyless providers. */
  readonly keySecret: string | null;
  /** Resolves a secret by name (the broker, or the configured environment variable). */
  readonly secret: (name: string) => Secret | null;
  /** The provider's configured prices; absent when none are configured (completions cost 0). */
  readonly pricing?: ProviderPricing;
}

/**
 * The cost of one completion in micros: `ceil((input * inputPrice + output * outputPrice) / 1e6)`,
 * computed in BigInt so no product of bounded tokens and bounded prices loses a digit. Without
 * pricing a completion costs 0.
 */
export function completionCostMicros(
  usage: { readonly inputTokens: number; readonly outputTokens: number },
  pricing: ProviderPricing | undefined,
): number {
  if (pricing === undefined) return 0;
  const product =
    BigInt(usage.inputTokens) * BigInt(pricing.inputMicrosPerMillionTokens) +
    BigInt(usage.outputTokens) * BigInt(pricing.outputMicrosPerMillionTokens);
  const micros = (product + 999_999n) / 1_000_000n;
  // The reducer adds charges as safe integers; a larger charge saturates and ends the task anyway.
  return micros > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(micros);
}

/** The secret name a built-in provider's key is looked up under, when the config names none. */
const builtInKeySecrets: Readonly<Record<string, string | null>> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  openrouter: 'OPENROUTER_API_KEY',
  groq: 'GROQ_API_KEY',
  'openai-compatible': 'OPENAI_API_KEY',
  ollama: null,
  vllm: null,
  'llama-cpp': null,
};

/** The wire format of each built-in provider's endpoint in the net sidecar. */
const builtInKinds: Readonly<Record<string, ProviderSetting['kind']>> = {
  openai: 'openai-compatible',
  anthropic: 'anthropic',
  openrouter: 'openai-compatible',
  groq: 'openai-compatible',
  'openai-compatible': 'openai-compatible',
  ollama: 'openai-compatible',
  vllm: 'openai-compatible',
  'llama-cpp': 'openai-compatible',
};

/** Whether a config entry for provider `name` leaves the sidecar's built-in endpoint of that name in place. */
function keepsBuiltInEndpoint(name: string, setting: ProviderSetting): boolean {
  const builtInKind = Object.hasOwn(builtInKinds, name) ? builtInKinds[name] : undefined;
  return setting.baseUrl === null && builtInKind === setting.kind;
}

/** Everything `resolveModelCandidate` needs. */
export interface ModelChoice {
  /** `<provider>:<model>`. */
  readonly spec: string;
  /** The scripted mock's script (`--script`), relative to `cwd`. */
  readonly scriptPath?: string;
  readonly turnsMax?: number;
  readonly config: Pick<Config, 'sidecars' | 'providers' | 'path'>;
  readonly secret: (name: string) => Secret | null;
  readonly cwd: string;
  /** Overrides where the bundled net sidecar is looked for (tests). */
  readonly bundledNetPath?: string;
}

/** Resolves `--model` and friends; a string is a one-line usage error. */
export function resolveModelCandidate(choice: ModelChoice): ModelCandidate | string {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63}):(\S{1,200})$/u.exec(choice.spec);
  if (match === null) {
    return `--model must be <provider>:<model> (e.g. openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, mock:scripted), got '${choice.spec}'`;
  }
  const provider = match[1] ?? '';
  const model = match[2] ?? '';
  const turnsMax = choice.turnsMax ?? AgentModelLimits.turnsDefault;
  if (!Number.isInteger(turnsMax) || turnsMax < 1 || turnsMax > AgentModelLimits.turnsMax) {
    return `--turns must be a whole number from 1 to ${AgentModelLimits.turnsMax}`;
  }
  const sidecar = sidecarCommandFor('net', choice.config, choice.bundledNetPath);
  if (!sidecar.ok) return sidecar.message;
  const scripted = provider === 'mock' && model === 'scripted';
  if (choice.scriptPath !== undefined && !scripted) return '--script only applies with --model mock:scripted';
  if (scripted && choice.scriptPath === undefined)
    return '--model mock:scripted needs --script <file> (a JSON script of model turns)';
  if (scripted && !sidecar.bundled)
    return '--model mock:scripted needs the bundled net sidecar (remove sidecars.net from the config)';

  const configured = Object.hasOwn(choice.config.providers, provider) ? choice.config.providers[provider] : undefined;
  const providers: Record<string, NetProviderEntry> = {};
  for (const [name, setting] of Object.entries(choice.config.providers)) {
    // An entry for a built-in provider that names no base URL but speaks its kind (say, one that
    // only adds pricing) keeps the sidecar's built-in endpoint instead of erasing it. One of
    // another kind replaces it: a mock stays offline, and a key is never sent to an endpoint of
    // another wire format.
    if (keepsBuiltInEndpoint(name, setting)) continue;
    providers[name] = {
      kind: setting.kind,
      local: setting.local,
      ...(setting.baseUrl === null ? {} : { baseUrl: setting.baseUrl }),
    };
  }
  let netProvider = provider;
  let keySecret: string | null;
  if (scripted) {
    const script = isAbsolute(choice.scriptPath ?? '')
      ? (choice.scriptPath ?? '')
      : resolve(choice.cwd, choice.scriptPath ?? '');
    netProvider = 'crustcore-scripted';
    providers[netProvider] = { kind: 'scripted', local: true, script };
    keySecret = null;
  } else if (configured !== undefined) {
    // A built-in provider's entry without a `secret` keeps the built-in key name only while it keeps
    // the built-in endpoint: a key is never sent to an address the user named for something else.
    const builtInSecret =
      keepsBuiltInEndpoint(provider, configured) && Object.hasOwn(builtInKeySecrets, provider)
        ? (builtInKeySecrets[provider] ?? null)
        : null;
    keySecret = configured.kind === 'mock' ? null : (configured.secret ?? builtInSecret);
  } else if (provider === 'mock') {
    keySecret = null;
  } else if (Object.hasOwn(builtInKeySecrets, provider)) {
    keySecret = builtInKeySecrets[provider] ?? null;
  } else {
    const known = ['mock', ...Object.keys(builtInKeySecrets), ...Object.keys(choice.config.providers)];
    return `unknown model provider '${provider}'; use one of ${known.join(', ')} or add it under "providers" in ${choice.config.path ?? 'the config'}`;
  }
  if (keySecret !== null && choice.secret(keySecret) === null) {
    return `provider '${provider}' needs its API key in the secret ${keySecret}; put it in the vault, or export the variable that secrets.env maps ${keySecret} to (default: ${keySecret})`;
  }
  return {
    label: choice.spec,
    provider: netProvider,
    model,
    turnsMax,
    sidecar: sidecar.command,
    netProviders: sidecar.bundled ? providers : null,
    keySecret,
    secret: choice.secret,
    ...(configured === undefined || configured.pricing === null ? {} : { pricing: configured.pricing }),
  };
}

/**
 * A secret lookup over the environment for when no broker is at hand: the secret `name` is read
 * from the variable the config maps it to (`secrets.env`), else from the variable of that name.
 */
export function environmentSecretLookup(
  config: Pick<Config, 'secrets'>,
  env: Readonly<Record<string, string | undefined>>,
): (name: string) => Secret | null {
  return (name) => {
    if (!isSecretName(name)) return null;
    const variable = Object.hasOwn(config.secrets.env, name) ? config.secrets.env[name] : name;
    const value = variable === undefined ? undefined : env[variable];
    return value === undefined || value === '' ? null : new Secret(name, value);
  };
}

/**
 * `run`'s model flags to a candidate: `--model`, `--script`, `--turns`, with the user's config.
 * `secret` is the broker's lookup when the caller has one. `costCapped` (`--max-cost`) fails
 * closed when the provider has no pricing: a cost that is never measured cannot be capped. A
 * string is a one-line usage error.
 */
export function modelCandidateFromFlags(flags: {
  readonly spec: string;
  readonly script: string | undefined;
  readonly turns: string | undefined;
  readonly costCapped?: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly secret?: (name: string) => Secret | null;
}): ModelCandidate | string {
  let config: Config;
  try {
    config = loadConfig(flags.env);
  } catch (error) {
    return (error as Error).message;
  }
  const turns = flags.turns === undefined ? undefined : Number(flags.turns);
  if (turns !== undefined && (!Number.isInteger(turns) || turns < 1 || turns > AgentModelLimits.turnsMax)) {
    return `--turns must be a whole number from 1 to ${AgentModelLimits.turnsMax}, got '${flags.turns ?? ''}'`;
  }
  const candidate = resolveModelCandidate({
    spec: flags.spec,
    ...(flags.script === undefined ? {} : { scriptPath: flags.script }),
    ...(turns === undefined ? {} : { turnsMax: turns }),
    config,
    secret: flags.secret ?? environmentSecretLookup(config, flags.env),
    cwd: flags.cwd,
  });
  if (typeof candidate === 'string' || flags.costCapped !== true || candidate.pricing !== undefined) return candidate;
  const provider = flags.spec.slice(0, flags.spec.indexOf(':'));
  return `--max-cost needs the prices of provider '${provider}' to measure cost; set providers.${provider}.pricing (inputMicrosPerMillionTokens, outputMicrosPerMillionTokens) in ${config.path ?? configPath(flags.env)}`;
}
