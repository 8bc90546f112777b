/** The tamper-evident event log: record format, writer, verifier, replay, export and receipts. */
export { anchorKeyName, anchorPathOf, readAnchor, type HeadAnchor } from './head-anchor.js';
export { exportLog, type ExportReport, type Redact } from './export.js';
export { inspectLog, type InspectReport, type TaskSummary } from './inspect.js';
export { LogError, type LogErrorCode } from './log-error.js';
export {
  LogWriter,
  type CheckpointBody,
  type Durability,
  type LogCreateOptions,
  type LogWriterOptions,
} from './log-writer.js';
export {
  firstPrevMac,
  issueReceipt,
  receiptMacInput,
  receiptsKeyName,
  resultSha256,
  ReceiptChainVerifier,
  verifyReceipt,
  type Receipt,
  type ReceiptRejectionCode,
  type ReceiptVerdict,
} from './receipts.js';
export { LogLimits, RecordKind, encodeRecord, parseRecordLine, type ParsedRecord } from './record-format.js';
export { Replayer, replayLog, type CheckpointComparison, type ReplayReport } from './replay.js';
export { scanLog, type AnchorStatus, type LogStatus, type ScanReport } from './scan.js';
export { lockPathOf, type LockHolder } from './writer-lock.js';
