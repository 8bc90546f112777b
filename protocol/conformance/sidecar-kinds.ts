import { Limits } from '../src/limits.js';
import type { RequestId } from '../src/jsonrpc.js';
import type { RequestMethod } from '../src/v1/methods.js';

/** What the kit knows about one kind of sidecar: the methods it must offer and how to exercise them. */
export interface SidecarKind {
  readonly name: string;
  /** Methods the sidecar must list in its `initialize` capabilities (besides `$/ping`). */
  readonly methods: readonly RequestMethod[];
  /** Whether a valid request fixture with these params must get a result (not an upstream error). */
  readonly requiresResult: (params: unknown) => boolean;
  /** A valid request that needs nothing outside the sidecar, for the cancellation and state scenarios. */
  readonly sampleRequest: (id: RequestId) => Record<string, unknown>;
  /** A valid request whose frame body is about `bodyBytes` long, for the size scenario; absent when the kind has none. */
  readonly largeRequest?: (id: RequestId, bodyBytes: number) => Record<string, unknown>;
}

function providerOf(params: unknown): unknown {
  return typeof params === 'object' && params !== null ? (params as { provider?: unknown }).provider : undefined;
}

function netRequest(id: RequestId, content: string): Record<string, unknown> {
  // One message holds at most textLengthMax characters, so a long text is spread over several.
  const parts: string[] = [];
  for (let start = 0; start < content.length || parts.length === 0; start += Limits.textLengthMax) {
    parts.push(content.slice(start, start + Limits.textLengthMax));
  }
  return {
    jsonrpc: '2.0',
    id,
    method: 'net/complete',
    params: {
      provider: 'mock',
      model: 'conformance',
      messages: parts.map((part) => ({ role: 'user', content: part })),
      stream: true,
      progressToken: `conformance-${String(id)}`,
    },
  };
}

/**
 * The sidecar kinds the kit can check. A net sidecar must offer the offline `mock` provider: the
 * fixtures that name it must get results, while fixtures that name a network provider may fail
 * upstream (with a non-client-fault code) because the kit runs without credentials.
 */
export const sidecarKinds: Readonly<Record<string, SidecarKind>> = {
  net: {
    name: 'net',
    methods: ['net/complete', 'net/embed', 'net/rerank'],
    requiresResult: (params) => providerOf(params) === 'mock',
    sampleRequest: (id) => netRequest(id, 'Say something short.'),
    largeRequest: (id, bodyBytes) => {
      const overhead = JSON.stringify(netRequest(id, '')).length + 64 * Math.ceil(bodyBytes / Limits.textLengthMax);
      return netRequest(id, 'x'.repeat(Math.max(0, Math.min(bodyBytes, Limits.messageBytesMax) - overhead)));
    },
  },
  index: {
    name: 'index',
    methods: ['index/search', 'index/files'],
    requiresResult: () => true,
    sampleRequest: (id) => ({ jsonrpc: '2.0', id, method: 'index/files', params: { limit: 1 } }),
  },
  mcp: {
    name: 'mcp',
    methods: ['mcp/callTool'],
    requiresResult: () => false,
    sampleRequest: (id) => ({
      jsonrpc: '2.0',
      id,
      method: 'mcp/callTool',
      params: { server: 'conformance', tool: 'echo', arguments: {} },
    }),
  },
};
