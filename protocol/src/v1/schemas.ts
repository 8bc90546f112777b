/** Every v1 schema, re-exported for peers that want a single import. */
export {
  CapabilitiesSchema,
  CancelRequestParamsSchema,
  InitializeParamsSchema,
  InitializeResultSchema,
  PeerInfoSchema,
  PingParamsSchema,
  PingResultSchema,
  ProgressParamsSchema,
  ProgressValueSchema,
  ShutdownParamsSchema,
  ShutdownResultSchema,
} from './lifecycle.js';
export { CallToolParamsSchema, CallToolResultSchema, ContentBlockSchema } from './mcp.js';
export {
  AssistantMessageSchema,
  ChatMessageSchema,
  CompleteParamsSchema,
  CompleteResultSchema,
  EmbedParamsSchema,
  EmbedResultSchema,
  FinishReasonSchema,
  RerankParamsSchema,
  RerankResultSchema,
  ToolCallSchema,
  ToolDefinitionSchema,
} from './net.js';
export {
  FilesParamsSchema,
  FilesResultSchema,
  SearchHitSchema,
  SearchParamsSchema,
  SearchResultSchema,
} from './repo-index.js';
export {
  MethodNameSchema,
  ProgressTokenSchema,
  RelativePathSchema,
  RequestIdSchema,
  UsageSchema,
  VersionSchema,
} from './common.js';
