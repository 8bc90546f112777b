/**
 * Every bound the wire enforces, in one place, with the unit last in each name. Both peers apply
 * them: a message that breaks one is refused, never truncated or skipped.
 */
export const Limits = {
  /** Largest message body (the bytes counted by `Content-Length`). */
  messageBytesMax: 16 * 1024 * 1024,
  /** Largest header section, including the blank line that ends it. */
  headerBytesMax: 8 * 1024,
  /** Most decimal digits accepted in a `Content-Length` value. */
  contentLengthDigitsMax: 10,
  /** Longest method name. */
  methodNameLengthMax: 64,
  /** Longest string request id. */
  requestIdLengthMax: 64,
  /** Deepest nesting of arrays and objects in one message. */
  jsonDepthMax: 64,
  /** Longest error message in an error response. */
  errorMessageLengthMax: 4_096,
  /** Longest short name: provider, tool, server, model id. */
  nameLengthMax: 256,
  /** Longest free text field (message content, document, snippet), in UTF-16 code units. */
  textLengthMax: 8 * 1024 * 1024,
  /** Longest query string for search or rerank. */
  queryLengthMax: 16 * 1024,
  /** Longest repository-relative path. */
  pathLengthMax: 4_096,
  /** Longest URL. */
  urlLengthMax: 2_048,
  /** Longest secret handed to a sidecar for one call (an API key). */
  credentialLengthMax: 4_096,
  /** Most chat messages in one completion request. */
  chatMessagesMax: 4_096,
  /** Most tool definitions or tool calls in one completion. */
  toolsMax: 256,
  /** Most inputs in one embedding request, and documents in one rerank request. */
  batchItemsMax: 2_048,
  /** Most dimensions of one embedding vector. */
  embeddingDimensionsMax: 16_384,
  /** Most search hits or listed files in one result. */
  resultItemsMax: 10_000,
  /** Most content blocks in one tool result. */
  contentBlocksMax: 1_024,
  /** Most methods a peer may list in its capabilities. */
  capabilityMethodsMax: 256,
  /** Largest token count a completion may ask for or report. */
  tokensMax: 100_000_000,
} as const;

/** The type of {@link Limits}; framing accepts a narrower pair for tests and small peers. */
export type WireLimits = typeof Limits;

/** The two limits the framing layer needs. */
export interface FrameLimits {
  readonly messageBytesMax: number;
  readonly headerBytesMax: number;
}
