import { validateResult } from '@crustcore/protocol';
import type { RequestMethod, ResultOf } from '@crustcore/protocol';
import { Agent } from 'undici';
import type { CallContext } from './call-context.js';
import { checkEndpoint, guardedLookup } from './http/endpoint.js';
import type { NetConfig, ProviderConfig } from './net-config.js';
import { defaultNetConfig } from './net-config.js';
import { NetFailure } from './net-failure.js';
import { anthropicComplete } from './providers/anthropic.js';
import { mockComplete, mockEmbed, mockRerank } from './providers/mock.js';
import { openAiComplete, openAiEmbed, openAiRerank } from './providers/openai-compatible.js';
import type {
  CompleteParams,
  CompleteResult,
  EmbedParams,
  EmbedResult,
  RemoteTarget,
  RerankParams,
  RerankResult,
} from './providers/provider-types.js';
import { ScriptedModel } from './providers/scripted.js';

/** Per-call hooks: the kernel's cancellation, and listeners for streamed text and status lines. */
export interface ServiceCallOptions {
  readonly signal?: AbortSignal;
  readonly onTextDelta?: (text: string) => void;
  readonly onStatus?: (message: string) => void;
}

type NetMethod = 'net/complete' | 'net/embed' | 'net/rerank';

interface Target {
  readonly provider: string;
  readonly baseUrl?: string | undefined;
  readonly apiKey?: string | undefined;
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/**
 * The net sidecar's work, independent of the wire: it resolves the named provider, checks its
 * endpoint, runs the call with the configured limits and checks the result against the protocol
 * schema before handing it back. Failures are {@link NetFailure}s with a wire code.
 */
export class NetService {
  readonly #config: NetConfig;
  readonly #scripted = new Map<string, ScriptedModel>();
  #remoteAgent: Agent | null = null;
  #localAgent: Agent | null = null;

  /** Creates a service with `config` (built-in providers and default limits by default). */
  constructor(config: NetConfig = defaultNetConfig) {
    this.#config = config;
  }

  /** The configuration in use. */
  get config(): NetConfig {
    return this.#config;
  }

  /** One chat completion. */
  complete(params: CompleteParams, options: ServiceCallOptions = {}): Promise<CompleteResult> {
    return this.#run('net/complete', params, options, (provider, context) => {
      switch (provider.config.kind) {
        case 'mock':
          return mockComplete(params, context);
        case 'scripted':
          return this.#scriptedModel(provider.name, provider.config).complete(params, context);
        case 'openai-compatible':
          return openAiComplete(this.#remote(provider, params), params, context);
        case 'anthropic':
          return anthropicComplete(this.#remote(provider, params), params, context);
        default:
          return assertNever(provider.config.kind);
      }
    });
  }

  /** Embeddings for a batch of texts. */
  embed(params: EmbedParams, options: ServiceCallOptions = {}): Promise<EmbedResult> {
    return this.#run('net/embed', params, options, (provider, context) => {
      switch (provider.config.kind) {
        case 'mock':
        case 'scripted':
          return mockEmbed(params);
        case 'openai-compatible':
          return openAiEmbed(this.#remote(provider, params), params, context);
        case 'anthropic':
          throw new NetFailure(
            'invalidParams',
            `provider '${provider.name}' (anthropic) offers no embeddings; use an OpenAI-compatible provider`,
          );
        default:
          return assertNever(provider.config.kind);
      }
    });
  }

  /** Documents ordered by relevance to a query. */
  rerank(params: RerankParams, options: ServiceCallOptions = {}): Promise<RerankResult> {
    return this.#run('net/rerank', params, options, (provider, context) => {
      switch (provider.config.kind) {
        case 'mock':
        case 'scripted':
          return mockRerank(params);
        case 'openai-compatible':
          return openAiRerank(this.#remote(provider, params), params, context);
        case 'anthropic':
          throw new NetFailure(
            'invalidParams',
            `provider '${provider.name}' (anthropic) offers no rerank; use a provider with a /rerank endpoint`,
          );
        default:
          return assertNever(provider.config.kind);
      }
    });
  }

  /** Closes the HTTP connection pools. */
  async close(): Promise<void> {
    const agents = [this.#remoteAgent, this.#localAgent].filter((agent) => agent !== null);
    this.#remoteAgent = null;
    this.#localAgent = null;
    await Promise.all(agents.map((agent) => agent.destroy().catch(() => undefined)));
  }

  async #run<M extends NetMethod>(
    method: M,
    target: Target,
    options: ServiceCallOptions,
    work: (
      provider: { name: string; config: ProviderConfig },
      context: CallContext,
    ) => ResultOf<M> | Promise<ResultOf<M>>,
  ): Promise<ResultOf<M>> {
    const limits = this.#config.limits;
    const cancelSignal = options.signal ?? new AbortController().signal;
    // A timer cleared when the call ends, so finished calls hold no timer for callTimeoutMs.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), limits.callTimeoutMs);
    const context: CallContext = {
      limits,
      cancelSignal,
      signal: AbortSignal.any([cancelSignal, deadline.signal]),
      deadlineAtMs: Date.now() + limits.callTimeoutMs,
      onTextDelta: options.onTextDelta,
      onStatus: options.onStatus,
      dispatcher: (local) => this.#agent(local),
    };
    let result: ResultOf<M>;
    try {
      if (cancelSignal.aborted) throw new NetFailure('requestCancelled', 'the call was cancelled');
      result = await work(this.#provider(target.provider), context);
    } catch (error) {
      if (cancelSignal.aborted) throw new NetFailure('requestCancelled', `${method} was cancelled`);
      if (error instanceof NetFailure) throw error;
      throw new NetFailure('internalError', `${method} failed inside the net sidecar`);
    } finally {
      clearTimeout(timer);
    }
    const checked = validateResult(method as RequestMethod, result);
    if (!checked.ok) {
      throw new NetFailure(
        'sidecarFailure',
        `provider '${target.provider}' produced a result the protocol refuses (${checked.message})`,
      );
    }
    return checked.result as ResultOf<M>;
  }

  #provider(name: string): { name: string; config: ProviderConfig } {
    const providers = this.#config.providers;
    const config = Object.hasOwn(providers, name) ? providers[name] : undefined;
    if (config === undefined) {
      const known = Object.keys(providers).sort().join(', ');
      throw new NetFailure('invalidParams', `unknown provider '${name.slice(0, 64)}'; known providers: ${known}`);
    }
    return { name, config };
  }

  #remote(provider: { name: string; config: ProviderConfig }, target: Target): RemoteTarget {
    if (this.#config.offline) {
      throw new NetFailure(
        'sidecarFailure',
        `provider '${provider.name}' needs the network, and this net sidecar runs offline`,
      );
    }
    const baseUrl = target.baseUrl ?? provider.config.baseUrl;
    if (baseUrl === undefined) {
      throw new NetFailure('invalidParams', `provider '${provider.name}' has no default baseUrl; pass one`);
    }
    return {
      provider: provider.name,
      endpoint: checkEndpoint(baseUrl, provider.config.local, provider.name),
      apiKey: target.apiKey,
    };
  }

  #scriptedModel(name: string, config: ProviderConfig): ScriptedModel {
    let model = this.#scripted.get(name);
    if (model === undefined) {
      if (config.script === undefined)
        throw new NetFailure('invalidParams', `scripted provider '${name}' has no script`);
      model = ScriptedModel.fromFile(config.script);
      this.#scripted.set(name, model);
    }
    return model;
  }

  #agent(local: boolean): Agent {
    const limits = this.#config.limits;
    const existing = local ? this.#localAgent : this.#remoteAgent;
    if (existing !== null) return existing;
    const agent = new Agent({
      connectTimeout: limits.connectTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      bodyTimeout: limits.bodyTimeoutMs,
      // A remote provider's host name is re-checked when each connection opens (see guardedLookup).
      connect: local
        ? { timeout: limits.connectTimeoutMs }
        : { timeout: limits.connectTimeoutMs, lookup: guardedLookup },
    });
    if (local) this.#localAgent = agent;
    else this.#remoteAgent = agent;
    return agent;
  }
}
