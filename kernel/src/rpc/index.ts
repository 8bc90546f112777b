/** The kernel's JSON-RPC client over a sidecar's stdio. */
export { FrameCodec } from './frame-codec.js';
export type { InboundBatch, OutboundFrame } from './frame-codec.js';
export { RpcConnection } from './rpc-connection.js';
export type { CallOptions, PeerRole, ProgressValue, RequestHandler, RpcConnectionOptions } from './rpc-connection.js';
export { ResponseError, RpcError } from './rpc-error.js';
export type { RpcErrorCode } from './rpc-error.js';
export { defaultRpcLimits } from './rpc-limits.js';
export type { RpcLimits } from './rpc-limits.js';
export { inheritedEnvironment, kernelMethods, SidecarSession, startSidecar } from './sidecar-process.js';
export type { SidecarCommand, SidecarExit, StartSidecarOptions } from './sidecar-process.js';
export { TailBuffer } from './tail-buffer.js';
