import type * as z from 'zod/mini';
import {
  CancelRequestParamsSchema,
  InitializeParamsSchema,
  InitializeResultSchema,
  PingParamsSchema,
  PingResultSchema,
  ProgressParamsSchema,
  ShutdownParamsSchema,
  ShutdownResultSchema,
} from './lifecycle.js';
import { CallToolParamsSchema, CallToolResultSchema } from './mcp.js';
import {
  CompleteParamsSchema,
  CompleteResultSchema,
  EmbedParamsSchema,
  EmbedResultSchema,
  RerankParamsSchema,
  RerankResultSchema,
} from './net.js';
import { FilesParamsSchema, FilesResultSchema, SearchParamsSchema, SearchResultSchema } from './repo-index.js';

/** Which peer sends a method: the kernel (client), the sidecar (server), or either. */
export type Direction = 'kernelToSidecar' | 'sidecarToKernel' | 'both';

/** A row of the method table for a request: it gets exactly one response. */
export interface RequestSpec {
  readonly kind: 'request';
  readonly direction: Direction;
  readonly params: z.ZodMiniType;
  readonly result: z.ZodMiniType;
}

/** A row of the method table for a notification: it gets no response. */
export interface NotificationSpec {
  readonly kind: 'notification';
  readonly direction: Direction;
  readonly params: z.ZodMiniType;
}

/**
 * The v1 method table: the only place a method name is spelled. Lifecycle methods have bare
 * names, protocol housekeeping is `$/name`, and sidecar methods are `resource/verb`.
 */
export const Methods = {
  initialize: {
    kind: 'request',
    direction: 'kernelToSidecar',
    params: InitializeParamsSchema,
    result: InitializeResultSchema,
  },
  shutdown: {
    kind: 'request',
    direction: 'kernelToSidecar',
    params: ShutdownParamsSchema,
    result: ShutdownResultSchema,
  },
  '$/cancelRequest': { kind: 'notification', direction: 'both', params: CancelRequestParamsSchema },
  '$/ping': { kind: 'request', direction: 'both', params: PingParamsSchema, result: PingResultSchema },
  '$/progress': { kind: 'notification', direction: 'sidecarToKernel', params: ProgressParamsSchema },
  'net/complete': {
    kind: 'request',
    direction: 'kernelToSidecar',
    params: CompleteParamsSchema,
    result: CompleteResultSchema,
  },
  'net/embed': { kind: 'request', direction: 'kernelToSidecar', params: EmbedParamsSchema, result: EmbedResultSchema },
  'net/rerank': {
    kind: 'request',
    direction: 'kernelToSidecar',
    params: RerankParamsSchema,
    result: RerankResultSchema,
  },
  'index/search': {
    kind: 'request',
    direction: 'kernelToSidecar',
    params: SearchParamsSchema,
    result: SearchResultSchema,
  },
  'index/files': {
    kind: 'request',
    direction: 'kernelToSidecar',
    params: FilesParamsSchema,
    result: FilesResultSchema,
  },
  'mcp/callTool': {
    kind: 'request',
    direction: 'kernelToSidecar',
    params: CallToolParamsSchema,
    result: CallToolResultSchema,
  },
} as const satisfies Record<string, RequestSpec | NotificationSpec>;

/** Every method name in the v1 table. */
export type MethodName = keyof typeof Methods;

/** The names of the v1 methods that are requests. */
export type RequestMethod = {
  [M in MethodName]: (typeof Methods)[M] extends { readonly kind: 'request' } ? M : never;
}[MethodName];

/** The names of the v1 methods that are notifications. */
export type NotificationMethod = Exclude<MethodName, RequestMethod>;

/** The params type of a method, as its schema outputs it. */
export type ParamsOf<M extends MethodName> = z.output<(typeof Methods)[M]['params']>;

/** The result type of a request method, as its schema outputs it. */
export type ResultOf<M extends RequestMethod> = z.output<(typeof Methods)[M]['result']>;

/** True when `name` is a method of the v1 table (own key, so `__proto__` and `toString` are not). */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(Methods, name);
}

/** True when `method` is a request (it gets a response), false for a notification. */
export function isRequestMethod(method: MethodName): method is RequestMethod {
  return Methods[method].kind === 'request';
}

/** The file and folder stem for a method: `net/complete` → `net.complete`, `$/ping` → `rpc.ping`. */
export function methodFileStem(method: MethodName): string {
  return method.replace(/^\$\//, 'rpc.').replace('/', '.');
}
