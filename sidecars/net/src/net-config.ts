import type { NetLimits } from './net-limits.js';
import { defaultNetLimits, netLimitNames } from './net-limits.js';

/** The wire formats and offline modes a provider can speak. */
export type ProviderKind = 'mock' | 'scripted' | 'openai-compatible' | 'anthropic';

const providerKinds: readonly ProviderKind[] = ['mock', 'scripted', 'openai-compatible', 'anthropic'];

/** How one named provider is reached. */
export interface ProviderConfig {
  readonly kind: ProviderKind;
  /** Default base URL; a call's `baseUrl` param replaces it. */
  readonly baseUrl?: string;
  /**
   * A local provider may use `http:` and loopback, private or link-local addresses (a model server
   * on this machine or network). Every other provider needs `https:` and a public address.
   */
  readonly local: boolean;
  /** For `scripted`: the JSON script file of model turns. */
  readonly script?: string;
}

/** The sidecar's whole configuration: named providers, limits, and whether the network is off. */
export interface NetConfig {
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  readonly limits: NetLimits;
  /** When true, only the offline providers (`mock`, `scripted`) answer; the others fail without a connection. */
  readonly offline: boolean;
}

/** Providers known without any configuration. `mock` is the default and works offline. */
export const builtInProviders: Readonly<Record<string, ProviderConfig>> = {
  mock: { kind: 'mock', local: true },
  openai: { kind: 'openai-compatible', baseUrl: 'https://api.openai.com/v1', local: false },
  openrouter: { kind: 'openai-compatible', baseUrl: 'https://openrouter.ai/api/v1', local: false },
  groq: { kind: 'openai-compatible', baseUrl: 'https://api.groq.com/openai/v1', local: false },
  'openai-compatible': { kind: 'openai-compatible', local: false },
  anthropic: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com', local: false },
  ollama: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', local: true },
  vllm: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1', local: true },
  'llama-cpp': { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8080/v1', local: true },
};

/** The configuration used when no file is given. */
export const defaultNetConfig: NetConfig = { providers: builtInProviders, limits: defaultNetLimits, offline: false };

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(where: string, what: string): never {
  throw new Error(`net sidecar config: ${where} ${what}; fix the file`);
}

function parseProvider(name: string, value: unknown): ProviderConfig {
  const where = `providers.${JSON.stringify(name)}`;
  if (!isRecord(value)) fail(where, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!['kind', 'baseUrl', 'local', 'script'].includes(key)) fail(`${where}.${key}`, 'is not a known key');
  }
  const kind = value['kind'];
  if (typeof kind !== 'string' || !providerKinds.includes(kind as ProviderKind)) {
    fail(`${where}.kind`, `must be one of ${providerKinds.join(', ')}`);
  }
  const local = value['local'] ?? false;
  if (typeof local !== 'boolean') fail(`${where}.local`, 'must be a boolean');
  const baseUrl = value['baseUrl'];
  if (baseUrl !== undefined && (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl))) {
    fail(`${where}.baseUrl`, 'must be an http(s) URL');
  }
  const script = value['script'];
  if (script !== undefined && (typeof script !== 'string' || script === '')) fail(`${where}.script`, 'must be a path');
  if (kind === 'scripted' && script === undefined) fail(`${where}.script`, 'is required for a scripted provider');
  return {
    kind: kind as ProviderKind,
    local,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    ...(script === undefined ? {} : { script }),
  };
}

function parseLimits(value: unknown): NetLimits {
  if (value === undefined) return defaultNetLimits;
  if (!isRecord(value)) fail('limits', 'must be an object');
  const limits: Record<string, number> = { ...defaultNetLimits };
  for (const [key, limit] of Object.entries(value)) {
    if (!netLimitNames.includes(key as keyof NetLimits)) fail(`limits.${key}`, 'is not a known limit');
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
      fail(`limits.${key}`, 'must be a non-negative integer');
    }
    limits[key] = limit;
  }
  return limits as unknown as NetLimits;
}

/**
 * Parses a configuration object: `{ providers?: { <name>: ProviderConfig }, limits?: Partial<NetLimits>,
 * offline?: boolean }`. Named providers are added to (or replace) the built-in ones. An unknown
 * key or a bad value throws an error that names it.
 */
export function parseNetConfig(value: unknown): NetConfig {
  if (!isRecord(value)) fail('(root)', 'must be a JSON object');
  for (const key of Object.keys(value)) {
    if (!['providers', 'limits', 'offline'].includes(key)) fail(key, 'is not a known key');
  }
  const providers: Record<string, ProviderConfig> = { ...builtInProviders };
  const named = value['providers'] ?? {};
  if (!isRecord(named)) fail('providers', 'must be an object');
  for (const [name, entry] of Object.entries(named)) {
    if (name === '' || name.length > 256)
      fail(`providers.${JSON.stringify(name)}`, 'needs a name of 1 to 256 characters');
    providers[name] = parseProvider(name, entry);
  }
  const offline = value['offline'] ?? false;
  if (typeof offline !== 'boolean') fail('offline', 'must be a boolean');
  return { providers, limits: parseLimits(value['limits']), offline };
}
