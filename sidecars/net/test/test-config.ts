import type { NetConfig, ProviderConfig } from '../src/net-config.js';
import { builtInProviders } from '../src/net-config.js';
import { defaultNetLimits } from '../src/net-limits.js';
import type { NetLimits } from '../src/net-limits.js';

/** Limits small enough that retry and timeout tests take milliseconds. */
export const fastLimits: NetLimits = {
  ...defaultNetLimits,
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 2_000,
  bodyTimeoutMs: 300,
  callTimeoutMs: 10_000,
  responseBytesMax: 64 * 1024,
  retriesMax: 2,
  retryBaseDelayMs: 10,
  retryDelayMsMax: 40,
  retryAfterMsMax: 5_000,
};

/** Built-in providers plus local test providers of each wire format pointed at `origin`. */
export function testConfig(origin: string, limits: Partial<NetLimits> = {}): NetConfig {
  const providers: Record<string, ProviderConfig> = {
    ...builtInProviders,
    'local-openai': { kind: 'openai-compatible', baseUrl: `${origin}/v1`, local: true },
    'local-anthropic': { kind: 'anthropic', baseUrl: origin, local: true },
  };
  return { providers, limits: { ...fastLimits, ...limits }, offline: false };
}
