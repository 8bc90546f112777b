/**
 * Invariant: `--model` resolves to exactly the provider entries and key secret the user meant. A
 * config entry for a built-in provider that leaves out `baseUrl` or `secret` (one that only adds
 * pricing, say) keeps the built-in endpoint and key name instead of silently erasing them.
 * Method: `resolveModelCandidate` on parsed configs, compared as whole objects.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveModelCandidate, type ModelCandidate } from '../../src/host/agent-model.js';
import { parseConfig } from '../../src/host/config.js';
import { Secret } from '../../src/secrets/secret.js';

const pricing = { inputMicrosPerMillionTokens: 150_000, outputMicrosPerMillionTokens: 600_000 };
const keys = new Map([
  ['OPENAI_API_KEY', new Secret('OPENAI_API_KEY', 'sk-test-openai')],
  ['WORK_KEY', new Secret('WORK_KEY', 'sk-test-work')],
]);

function resolveWith(providers: Record<string, unknown>, spec: string): ModelCandidate | string {
  return resolveModelCandidate({
    spec,
    config: parseConfig({ providers }, 'config.json'),
    secret: (name) => keys.get(name) ?? null,
    cwd: '/',
    // Any existing file stands in for the bundled net sidecar.
    bundledNetPath: fileURLToPath(import.meta.url),
  });
}

function summary(candidate: ModelCandidate | string): unknown {
  if (typeof candidate === 'string') return candidate;
  return {
    provider: candidate.provider,
    netProviders: candidate.netProviders,
    keySecret: candidate.keySecret,
    pricing: candidate.pricing ?? null,
  };
}

describe('resolveModelCandidate', () => {
  it('a built-in provider entry with pricing only keeps the built-in endpoint and key', () => {
    expect(summary(resolveWith({ openai: { kind: 'openai-compatible', pricing } }, 'openai:gpt-4o-mini'))).toEqual({
      provider: 'openai',
      netProviders: {},
      keySecret: 'OPENAI_API_KEY',
      pricing,
    });
  });

  it('a built-in provider entry that names its base URL and secret uses them', () => {
    const providers = {
      openai: { kind: 'openai-compatible', baseUrl: 'https://proxy.example.com/v1', secret: 'WORK_KEY', pricing },
    };
    expect(summary(resolveWith(providers, 'openai:gpt-4o-mini'))).toEqual({
      provider: 'openai',
      netProviders: { openai: { kind: 'openai-compatible', local: false, baseUrl: 'https://proxy.example.com/v1' } },
      keySecret: 'WORK_KEY',
      pricing,
    });
  });

  it('a provider of its own without a secret sends no key, and one whose key is missing is refused', () => {
    const providers = {
      lab: { kind: 'openai-compatible', baseUrl: 'http://10.0.0.5:8000/v1', local: true },
      work: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com', secret: 'ABSENT_KEY' },
    };
    expect(summary(resolveWith(providers, 'lab:qwen'))).toEqual({
      provider: 'lab',
      netProviders: {
        lab: { kind: 'openai-compatible', local: true, baseUrl: 'http://10.0.0.5:8000/v1' },
        work: { kind: 'anthropic', local: false, baseUrl: 'https://api.anthropic.com' },
      },
      keySecret: null,
      pricing: null,
    });
    expect(resolveWith(providers, 'work:claude')).toBe(
      "provider 'work' needs its API key in the secret ABSENT_KEY; put it in the vault, or export the variable that secrets.env maps ABSENT_KEY to (default: ABSENT_KEY)",
    );
  });

  it('a built-in provider entry of another kind without a base URL replaces the built-in, never sends its key there', () => {
    // A mock entry stays a mock: the repository's content is not sent to the built-in remote endpoint.
    expect(summary(resolveWith({ openai: { kind: 'mock', pricing } }, 'openai:gpt-4o-mini'))).toEqual({
      provider: 'openai',
      netProviders: { openai: { kind: 'mock', local: false } },
      keySecret: null,
      pricing,
    });
    // An anthropic entry named `openai` has no endpoint of its own, so the sidecar refuses it
    // instead of sending WORK_KEY to the built-in OpenAI endpoint.
    expect(summary(resolveWith({ openai: { kind: 'anthropic', secret: 'WORK_KEY' } }, 'openai:claude'))).toEqual({
      provider: 'openai',
      netProviders: { openai: { kind: 'anthropic', local: false } },
      keySecret: 'WORK_KEY',
      pricing: null,
    });
  });

  it('a built-in provider entry that points elsewhere without a secret sends no key, never the built-in one', () => {
    const providers = {
      openai: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8080/v1', local: true },
    };
    expect(summary(resolveWith(providers, 'openai:local-model'))).toEqual({
      provider: 'openai',
      netProviders: { openai: { kind: 'openai-compatible', local: true, baseUrl: 'http://127.0.0.1:8080/v1' } },
      keySecret: null,
      pricing: null,
    });
  });
});
