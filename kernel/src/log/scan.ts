/**
 * The log verifier: reads a log in bounded chunks, checks every record (hash over the raw bytes,
 * strict header, sequence, chain, record kinds) and then the head anchor, and stops at the first
 * bad record with its number, byte offset and reason. It never throws for bad input.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { MacKey } from '../host/state-dir.js';
import { anchorMacValid, anchorPathOf, readAnchor, type AnchorRead } from './head-anchor.js';
import { LogLimits, logFormatName, parseRecordAt, zeroHash, type ParsedRecord } from './record-format.js';

/** The verdict on a log as a whole. */
export type LogStatus =
  /** Every record checks out and matches the head anchor. */
  | 'intact'
  /** A record or the anchor was changed, removed, reordered or spliced in. */
  | 'tampered'
  /** The final line is incomplete (a crash mid-append); everything before it is intact. */
  | 'torn'
  /** The file has no bytes. */
  | 'empty'
  /** The records are intact but the anchor is missing or older than the last record. */
  | 'unanchored'
  /** The file does not start with a crustcore log genesis record this build can read. */
  | 'notALog'
  /** The file cannot be opened or read. */
  | 'unreadable';

/** What the head anchor check found. */
export type AnchorStatus =
  /** The MAC is valid and the anchor names the last record. */
  | 'verified'
  /** The anchor names the last record, but the `log-anchor` key is not available to check its MAC. */
  | 'keyUnavailable'
  /** There is no `<log>.head`. */
  | 'missing'
  /** The anchor is malformed, its MAC is wrong, or it does not match the log. */
  | 'invalid'
  /** The records could not all be read, so the anchor was not compared. */
  | 'notChecked';

/** The verifier's report. `records` counts the records that passed, genesis included. */
export type ScanReport = {
  readonly path: string;
  readonly status: LogStatus;
  /** Number of the first record that failed (or is missing), when one can be named. */
  readonly firstBadRecord: number | null;
  /** File offset where that record starts (or would start). */
  readonly byteOffset: number | null;
  /** Why the log is not intact; null when it is. */
  readonly reason: string | null;
  readonly logId: string | null;
  readonly createdAtMs: number | null;
  readonly records: number;
  readonly events: number;
  readonly checkpoints: number;
  readonly bytes: number;
  readonly lastSeq: number | null;
  readonly lastHash: string | null;
  readonly anchor: AnchorStatus;
  readonly anchorSeq: number | null;
};

/** Called for every record that passed, in order, before the next one is read. */
export type RecordVisitor = (record: ParsedRecord, byteOffset: number) => void;

/** Options of `scanLog`. */
export type ScanOptions = {
  /** The `log-anchor` key, or null when it is not available (the anchor MAC is then not checked). */
  readonly anchorKey: MacKey | null;
  readonly visit?: RecordVisitor;
};

const chunkBytes = 4 * 1024 * 1024;

type Failure = {
  readonly status: 'tampered' | 'torn' | 'notALog' | 'unreadable';
  readonly record: number | null;
  readonly byteOffset: number | null;
  readonly reason: string;
};

/** The failure of record `record` at `byteOffset`; a plain function so the loop allocates no closure. */
function badRecord(
  record: number,
  byteOffset: number,
  reason: string,
  status: Failure['status'] = 'tampered',
): Failure {
  return { status, record, byteOffset, reason };
}

const genesisKeys = 'createdAtMs,format,logId,version';
const checkpointKeys = 'actionCount,actionsSha256,eventCount,stateSha256';
const hex32 = /^[0-9a-f]{32}$/;
const hex64 = /^[0-9a-f]{64}$/;

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Checks a genesis body; returns a reason or null. */
function genesisProblem(body: Readonly<Record<string, unknown>>): string | null {
  if (body['format'] !== logFormatName) return `the genesis record's format is not '${logFormatName}'`;
  if (body['version'] !== LogLimits.formatVersion) {
    return `log format version ${JSON.stringify(body['version'])} is not supported (this crustcore reads version ${LogLimits.formatVersion})`;
  }
  if (Object.keys(body).join(',') !== genesisKeys)
    return `the genesis record must have exactly the fields ${genesisKeys}`;
  if (typeof body['logId'] !== 'string' || !hex32.test(body['logId']))
    return 'the genesis logId is not 32 lowercase hex digits';
  if (!isCount(body['createdAtMs'])) return 'the genesis createdAtMs is not a non-negative integer';
  return null;
}

/** Checks a checkpoint body; returns a reason or null. */
function checkpointProblem(body: Readonly<Record<string, unknown>>): string | null {
  if (Object.keys(body).join(',') !== checkpointKeys)
    return `a checkpoint record must have exactly the fields ${checkpointKeys}`;
  if (!isCount(body['actionCount']) || !isCount(body['eventCount']))
    return 'a checkpoint count is not a non-negative integer';
  const { actionsSha256, stateSha256 } = body;
  if (
    typeof actionsSha256 !== 'string' ||
    !hex64.test(actionsSha256) ||
    typeof stateSha256 !== 'string' ||
    !hex64.test(stateSha256)
  ) {
    return 'a checkpoint digest is not 64 lowercase hex digits';
  }
  return null;
}

/** Verifies the log at `path`. Never throws for bad input; a throwing `visit` propagates. */
export function scanLog(path: string, options: ScanOptions): ScanReport {
  const anchorRead = readAnchor(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return emptyReport(path, 'unreadable', `cannot open the log (${code === 'ENOENT' ? 'no such file' : code})`);
  }
  try {
    const size = fstatSync(fd).size;
    if (!fstatSync(fd).isFile()) return emptyReport(path, 'unreadable', 'the path is not a regular file');
    if (size === 0) return emptyReport(path, 'empty', 'the log file is empty (no genesis record)');
    return scanOpen(path, fd, size, anchorRead, options);
  } finally {
    closeSync(fd);
  }
}

function emptyReport(path: string, status: LogStatus, reason: string): ScanReport {
  return {
    path,
    status,
    firstBadRecord: status === 'empty' ? 0 : null,
    byteOffset: status === 'empty' ? 0 : null,
    reason,
    logId: null,
    createdAtMs: null,
    records: 0,
    events: 0,
    checkpoints: 0,
    bytes: 0,
    lastSeq: null,
    lastHash: null,
    anchor: 'notChecked',
    anchorSeq: null,
  };
}

function scanOpen(path: string, fd: number, size: number, anchorRead: AnchorRead, options: ScanOptions): ScanReport {
  const anchorSeq = anchorRead.status === 'present' ? anchorRead.anchor.seq : -1;
  const buffer = Buffer.allocUnsafe(chunkBytes + LogLimits.recordBytesMax);
  let start = 0;
  let end = 0;
  // The filled part of the buffer; newline search must not look past `end`.
  let view = buffer.subarray(0, 0);
  // File offset of buffer[0].
  let base = 0;
  let eof = false;
  let index = 0;
  let prevHash = zeroHash;
  let logId: string | null = null;
  let createdAtMs: number | null = null;
  let events = 0;
  let checkpoints = 0;
  let hashAtAnchor: string | null = null;
  let offsetAfterAnchor: number | null = null;
  let failure: Failure | null = null;

  scan: for (;;) {
    const newline = view.indexOf(0x0a, start);
    if (newline === -1) {
      if (end - start >= LogLimits.recordBytesMax) {
        failure = {
          status: 'tampered',
          record: index,
          byteOffset: base + start,
          reason: `the line is longer than ${LogLimits.recordBytesMax} bytes (recordBytesMax)`,
        };
        break;
      }
      if (eof) {
        if (end > start) {
          failure = {
            status: 'torn',
            record: index,
            byteOffset: base + start,
            reason: `torn final line: ${end - start} bytes without a terminating newline (an append was cut off)`,
          };
        }
        break;
      }
      buffer.copyWithin(0, start, end);
      base += start;
      end -= start;
      start = 0;
      let read: number;
      try {
        read = readSync(fd, buffer, end, buffer.length - end, base + end);
      } catch (error) {
        failure = {
          status: 'unreadable',
          record: index,
          byteOffset: base + end,
          reason: `read failed (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        };
        break;
      }
      if (read === 0) eof = true;
      end += read;
      view = buffer.subarray(0, end);
      continue;
    }
    const offset = base + start;
    if (newline - start + 1 > LogLimits.recordBytesMax) {
      failure = {
        status: 'tampered',
        record: index,
        byteOffset: offset,
        reason: `the line is longer than ${LogLimits.recordBytesMax} bytes (recordBytesMax)`,
      };
      break;
    }
    const parsed = parseRecordAt(buffer, start, newline, prevHash);
    start = newline + 1;
    if (!parsed.ok) {
      failure =
        index === 0 && parsed.code === 'malformed'
          ? badRecord(index, offset, `the first line is not a crustcore log record: ${parsed.reason}`, 'notALog')
          : badRecord(index, offset, parsed.reason);
      break;
    }
    const record = parsed.record;
    if (index === 0) {
      if (record.kind !== 'genesis') {
        failure = badRecord(index, offset, 'the first record is not a genesis record', 'notALog');
        break;
      }
      const problem = genesisProblem(record.body);
      if (problem !== null) {
        failure = badRecord(index, offset, problem, 'notALog');
        break;
      }
      logId = record.body['logId'] as string;
      createdAtMs = record.body['createdAtMs'] as number;
    }
    if (record.seq !== index) {
      failure = badRecord(
        index,
        offset,
        `"seq" is ${record.seq} where ${index} belongs: records were removed, inserted or reordered`,
      );
      break;
    }
    if (record.prev !== prevHash) {
      failure = badRecord(
        index,
        offset,
        index === 0
          ? 'the genesis record\'s "prev" is not all zeros'
          : `"prev" is not the hash of record ${index - 1}: records were reordered, or spliced in from another log`,
      );
      break;
    }
    switch (record.kind) {
      case 'genesis':
        if (index !== 0) {
          failure = badRecord(index, offset, 'a second genesis record: records were spliced in from another log');
          break scan;
        }
        break;
      case 'event':
        events++;
        break;
      case 'checkpoint': {
        const problem = checkpointProblem(record.body);
        if (problem !== null) {
          failure = badRecord(index, offset, problem);
          break scan;
        }
        checkpoints++;
        break;
      }
      default: {
        const never: never = record.kind;
        throw new Error(`unreachable record kind ${String(never)}`);
      }
    }
    if (index === anchorSeq) hashAtAnchor = record.hash;
    if (index === anchorSeq + 1) offsetAfterAnchor = offset;
    options.visit?.(record, offset);
    prevHash = record.hash;
    index++;
  }

  const lastSeq = index === 0 ? null : index - 1;
  const lastHash = index === 0 ? null : prevHash;
  const verdict: Verdict =
    failure === null
      ? judgeAnchor(path, anchorRead, options.anchorKey, {
          logId: logId ?? '',
          lastSeq: lastSeq ?? 0,
          lastHash: prevHash,
          hashAtAnchor,
          offsetAfterAnchor,
          size,
        })
      : {
          status: failure.status,
          anchor: 'notChecked',
          firstBadRecord: failure.record,
          byteOffset: failure.byteOffset,
          reason: failure.reason,
        };
  return {
    path,
    status: verdict.status,
    firstBadRecord: verdict.firstBadRecord,
    byteOffset: verdict.byteOffset,
    reason: verdict.reason,
    logId,
    createdAtMs,
    records: index,
    events,
    checkpoints,
    bytes: size,
    lastSeq,
    lastHash,
    anchor: verdict.anchor,
    anchorSeq: anchorRead.status === 'present' ? anchorRead.anchor.seq : null,
  };
}

type Verdict = {
  readonly status: LogStatus;
  readonly anchor: AnchorStatus;
  readonly firstBadRecord: number | null;
  readonly byteOffset: number | null;
  readonly reason: string | null;
};

type Head = {
  readonly logId: string;
  readonly lastSeq: number;
  readonly lastHash: string;
  readonly hashAtAnchor: string | null;
  readonly offsetAfterAnchor: number | null;
  readonly size: number;
};

function judgeAnchor(path: string, read: AnchorRead, key: MacKey | null, head: Head): Verdict {
  const anchorFile = anchorPathOf(path);
  const tampered = (reason: string, record: number | null = null, byteOffset: number | null = null): Verdict => ({
    status: 'tampered',
    anchor: 'invalid',
    firstBadRecord: record,
    byteOffset,
    reason,
  });
  switch (read.status) {
    case 'missing':
      return {
        status: 'unanchored',
        anchor: 'missing',
        firstBadRecord: null,
        byteOffset: null,
        reason: `the head anchor ${anchorFile} is missing, so records removed from the end cannot be ruled out`,
      };
    case 'malformed':
      return tampered(`head anchor: ${read.reason}`);
    case 'present':
      break;
    default: {
      const never: never = read;
      throw new Error(`unreachable anchor read ${String(never)}`);
    }
  }
  const anchor = read.anchor;
  if (key !== null && !anchorMacValid(key, anchor)) {
    return tampered("the head anchor's MAC is invalid: it was forged, or written under another 'log-anchor' key");
  }
  if (anchor.logId !== head.logId) {
    return tampered(`the head anchor belongs to log ${anchor.logId}, not to this log (${head.logId})`);
  }
  if (anchor.seq > head.lastSeq) {
    const removed = anchor.seq - head.lastSeq;
    return tampered(
      `the log ends at record ${head.lastSeq} but the head anchor names record ${anchor.seq}: ${removed} record(s) removed from the end`,
      head.lastSeq + 1,
      head.size,
    );
  }
  if (anchor.hash !== head.hashAtAnchor) {
    return tampered(
      `the hash of record ${anchor.seq} does not match the head anchor: the log was rewritten`,
      anchor.seq,
    );
  }
  if (anchor.seq < head.lastSeq) {
    return {
      status: 'unanchored',
      anchor: key === null ? 'keyUnavailable' : 'verified',
      firstBadRecord: anchor.seq + 1,
      byteOffset: head.offsetAfterAnchor,
      reason: `records ${anchor.seq + 1}..${head.lastSeq} come after the head anchor (record ${anchor.seq}): appended without the anchor key, or a crash before the anchor was written`,
    };
  }
  return {
    status: 'intact',
    anchor: key === null ? 'keyUnavailable' : 'verified',
    firstBadRecord: null,
    byteOffset: null,
    reason: null,
  };
}
