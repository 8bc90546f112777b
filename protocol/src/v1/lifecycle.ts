import * as z from 'zod/mini';
import { Limits } from '../limits.js';
import {
  boundedString,
  MethodNameSchema,
  NameSchema,
  NoParamsSchema,
  ProgressTokenSchema,
  RequestIdSchema,
  TextSchema,
  VersionSchema,
} from './common.js';

/** Who a peer is: a name and its own (not the protocol's) version, for logs and diagnostics. */
export const PeerInfoSchema = z.strictObject({
  name: NameSchema,
  version: boundedString(64),
});

/** What a peer offers: the methods it handles, so the other side never calls one it lacks. */
export const CapabilitiesSchema = z.strictObject({
  methods: z.array(MethodNameSchema).check(z.maxLength(Limits.capabilityMethodsMax)),
});

/** `initialize` params, sent by the kernel first on every connection. */
export const InitializeParamsSchema = z.strictObject({
  protocolVersion: VersionSchema,
  clientInfo: PeerInfoSchema,
  capabilities: CapabilitiesSchema,
});

/** `initialize` result: the sidecar's version, identity and offered methods. */
export const InitializeResultSchema = z.strictObject({
  protocolVersion: VersionSchema,
  serverInfo: PeerInfoSchema,
  capabilities: CapabilitiesSchema,
});

/** `shutdown` params: none. After its response the kernel closes stdin and the sidecar exits. */
export const ShutdownParamsSchema = NoParamsSchema;
/** `shutdown` result: `null`. */
export const ShutdownResultSchema = z.null();

/** `$/ping` params: none. Either side may ping the other as a heartbeat. */
export const PingParamsSchema = NoParamsSchema;
/** `$/ping` result: `null`. */
export const PingResultSchema = z.null();

/** `$/cancelRequest` params: the id of the request to cancel, which still gets one response. */
export const CancelRequestParamsSchema = z.strictObject({
  id: RequestIdSchema,
});

/** One progress report: a streamed slice of completion text, or a human-readable status line. */
export const ProgressValueSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('textDelta'), text: TextSchema }),
  z.strictObject({ kind: z.literal('status'), message: boundedString(Limits.errorMessageLengthMax) }),
]);

/** `$/progress` params: a report for the in-flight request whose params carried this `progressToken`. */
export const ProgressParamsSchema = z.strictObject({
  token: ProgressTokenSchema,
  value: ProgressValueSchema,
});
