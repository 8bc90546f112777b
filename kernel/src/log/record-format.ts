/**
 * The byte layout of one log record, shared by the writer and every reader.
 *
 * A record is one line:
 *
 *     {"seq":<n>,"prev":"<64 hex>","kind":"<kind>","body":<canonical JSON object>,"hash":"<64 hex>"}\n
 *
 * The keys always appear in this order, and `hash` is SHA-256 over the exact bytes of the line
 * before `,"hash":"`. A verifier therefore hashes raw bytes and never re-serialises anything; it
 * still parses the header strictly and the body as JSON, so a line is either exactly well formed
 * or rejected with a reason.
 */
import { hash as digest } from 'node:crypto';

/** Limits of the record format. */
export const LogLimits = {
  /** Longest record line in bytes, newline included. Longer lines are refused on write and read. */
  recordBytesMax: 1024 * 1024,
  /** The log format version this build writes and reads. */
  formatVersion: 1,
} as const;

/** The `format` field of a genesis record. */
export const logFormatName = 'crustcore-log';

/** The `prev` of the genesis record: 64 zeros. */
export const zeroHash = '0'.repeat(64);

/** The three kinds of record. */
export const RecordKind = { genesis: 'genesis', event: 'event', checkpoint: 'checkpoint' } as const;
/** One of `RecordKind`'s values. */
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

const hashFieldPrefix = ',"hash":"';
/** Bytes after the hashed part of a line, newline excluded: `,"hash":"` + 64 hex + `"}`. */
export const hashSuffixBytes = hashFieldPrefix.length + 64 + 2;

/** A record as written: its full line (with newline) and its hash. */
export type EncodedRecord = { readonly line: string; readonly hash: string };

/** SHA-256 as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return digest('sha256', data, 'hex');
}

/** Encodes one record; `bodyJson` must already be canonical JSON of an object. */
export function encodeRecord(seq: number, prev: string, kind: RecordKind, bodyJson: string): EncodedRecord {
  const hashed = `{"seq":${seq},"prev":"${prev}","kind":"${kind}","body":${bodyJson}`;
  const hash = sha256Hex(hashed);
  return { line: `${hashed}${hashFieldPrefix}${hash}"}\n`, hash };
}

/** A record that passed every per-line check. */
export type ParsedRecord = {
  readonly seq: number;
  readonly prev: string;
  readonly kind: RecordKind;
  readonly body: Readonly<Record<string, unknown>>;
  /** The body exactly as stored (canonical JSON when the writer was crustcore). */
  readonly bodyJson: string;
  readonly hash: string;
};

/** The outcome of parsing one line (newline excluded). */
export type ParseResult =
  | { readonly ok: true; readonly record: ParsedRecord }
  | { readonly ok: false; readonly code: 'malformed' | 'hashMismatch'; readonly reason: string };

function malformed(reason: string): ParseResult {
  return { ok: false, code: 'malformed', reason };
}

const hexPattern = /^[0-9a-f]{64}$/;
const seqPattern = /^(0|[1-9][0-9]{0,15})$/;
const headerStart = '{"seq":';
const prevField = ',"prev":"';
const kindField = '","kind":"';
const bodyField = '","body":';

/** Why the bytes after the hashed part are not `,"hash":"<64 hex>"}` (slow path, failures only). */
function suffixProblem(line: Buffer, suffixStart: number): string | null {
  if (line.toString('latin1', suffixStart, suffixStart + hashFieldPrefix.length) !== hashFieldPrefix) {
    return 'no "hash" field at the end of the line';
  }
  const hex = line.toString('latin1', suffixStart + hashFieldPrefix.length, line.length - 2);
  if (!hexPattern.test(hex)) return 'the "hash" field is not 64 lowercase hex digits';
  if (line.toString('latin1', line.length - 2) !== '"}') return 'the line does not end with the "hash" field';
  return null;
}

/**
 * Parses and checks one record line (without its newline): the hash over the raw bytes, the
 * strict header, and a body that is a JSON object. Sequence and chain (`prev`) are checked by the
 * caller, which knows the previous record; a `prev` that is not 64 hex digits cannot match it.
 */
export function parseRecordLine(line: Buffer): ParseResult {
  return parseRecordAt(line, 0, line.length, null);
}

/**
 * `parseRecordLine` over `buffer[start, end)` without copying it. `expectedPrev`, when given, is
 * the hash the caller expects in `prev`; it only selects a faster path (the returned record is
 * the same either way), so the caller must still compare `prev` itself.
 */
export function parseRecordAt(buffer: Buffer, start: number, end: number, expectedPrev: string | null): ParseResult {
  const length = end - start;
  if (length < hashSuffixBytes + headerStart.length) return malformed('line too short to be a record');
  const suffixStart = end - hashSuffixBytes;
  const actualHash = sha256Hex(buffer.subarray(start, suffixStart));
  // Fast path for a well-formed ASCII header: every check is done on the bytes in place. Any
  // deviation falls back to the string path below, which alone decides the reason.
  if (expectedPrev !== null) {
    const record = fastRecord(buffer, start, suffixStart, actualHash, expectedPrev);
    if (record !== null) return { ok: true, record };
  }
  return parseSlow(buffer.subarray(start, end), actualHash);
}

const quote = 0x22;
const closeBrace = 0x7d;
const comma = 0x2c;
const digit0 = 0x30;
const digit9 = 0x39;
const hashFieldBytes = Buffer.from(hashFieldPrefix, 'latin1');
const headerStartBytes = Buffer.from(headerStart, 'latin1');
const prevFieldBytes = Buffer.from(prevField, 'latin1');
const kindFieldBytes = Buffer.from(kindField, 'latin1');
const bodyFieldBytes = Buffer.from(bodyField, 'latin1');
const kindBytes: readonly (readonly [RecordKind, Buffer])[] = [
  [RecordKind.event, Buffer.from('event"', 'latin1')],
  [RecordKind.checkpoint, Buffer.from('checkpoint"', 'latin1')],
  [RecordKind.genesis, Buffer.from('genesis"', 'latin1')],
];

/** Whether `buffer` holds exactly `expected` at `at`. */
function bytesAt(buffer: Buffer, at: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (buffer[at + i] !== expected[i]) return false;
  return true;
}

/** Whether `buffer[at, at + 64)` is exactly the 64 ASCII characters of `hex`. */
function hexAt(buffer: Buffer, at: number, hex: string): boolean {
  // One native latin1 decode and string compare beats a per-byte loop here.
  return at + 64 <= buffer.length && buffer.toString('latin1', at, at + 64) === hex;
}

/**
 * The record when the line is exactly `{"seq":<n>,"prev":"<expectedPrev>","kind":"<kind>","body":`
 * + a JSON object + `,"hash":"<actualHash>"}`; null on any deviation (the slow path then rules).
 * It accepts only lines the slow path accepts, and returns the same record for them.
 */
function fastRecord(
  buffer: Buffer,
  start: number,
  suffixStart: number,
  actualHash: string,
  expectedPrev: string,
): ParsedRecord | null {
  const hashStart = suffixStart + hashFieldBytes.length;
  if (
    !bytesAt(buffer, suffixStart, hashFieldBytes) ||
    !hexAt(buffer, hashStart, actualHash) ||
    buffer[hashStart + 64] !== quote ||
    buffer[hashStart + 65] !== closeBrace ||
    !bytesAt(buffer, start, headerStartBytes)
  ) {
    return null;
  }
  // "seq": 0, or 1 to 16 digits without a leading zero, as a safe integer.
  let at = start + headerStartBytes.length;
  const seqStart = at;
  let seq = 0;
  for (let byte = buffer[at]; byte !== undefined && byte >= digit0 && byte <= digit9 && at < suffixStart;) {
    seq = seq * 10 + (byte - digit0);
    byte = buffer[++at];
  }
  const seqDigits = at - seqStart;
  if (
    buffer[at] !== comma ||
    seqDigits === 0 ||
    seqDigits > 16 ||
    (seqDigits > 1 && buffer[seqStart] === digit0) ||
    !Number.isSafeInteger(seq)
  ) {
    return null;
  }
  if (!bytesAt(buffer, at, prevFieldBytes)) return null;
  at += prevFieldBytes.length;
  if (!hexAt(buffer, at, expectedPrev)) return null;
  at += 64;
  if (!bytesAt(buffer, at, kindFieldBytes)) return null;
  at += kindFieldBytes.length;
  let kind: RecordKind | null = null;
  for (const [name, bytes] of kindBytes) {
    if (bytesAt(buffer, at, bytes)) {
      kind = name;
      at += bytes.length - 1;
      break;
    }
  }
  if (kind === null || !bytesAt(buffer, at, bodyFieldBytes)) return null;
  at += bodyFieldBytes.length;
  if (at > suffixStart) return null;
  const bodyJson = buffer.toString('utf8', at, suffixStart);
  let body: unknown;
  try {
    body = JSON.parse(bodyJson);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  return { seq, prev: expectedPrev, kind, body: body as Record<string, unknown>, bodyJson, hash: actualHash };
}

/** The string path: decides every line the fast path does not accept, with its exact reason. */
function parseSlow(line: Buffer, actualHash: string): ParseResult {
  const length = line.length;
  const suffixStart = length - hashSuffixBytes;
  const suffix = line.toString('latin1', suffixStart);
  const storedHash = suffix.slice(hashFieldPrefix.length, hashFieldPrefix.length + 64);
  if (suffix !== `${hashFieldPrefix}${actualHash}"}`) {
    const problem = suffixProblem(line, suffixStart);
    if (problem !== null) return malformed(problem);
    return { ok: false, code: 'hashMismatch', reason: 'hash mismatch: the record was changed after it was written' };
  }
  // The hashed bytes are fixed now; what follows checks that the writer wrote a proper record.
  const text = line.toString('utf8', 0, suffixStart);
  const badHeader = 'the record header is not {"seq":…,"prev":…,"kind":…,"body":…}';
  if (!text.startsWith(headerStart)) return malformed(badHeader);
  const seqEnd = text.indexOf(',', headerStart.length);
  const seqText = text.slice(headerStart.length, seqEnd);
  if (seqEnd === -1 || !seqPattern.test(seqText)) return malformed('"seq" is not a non-negative integer');
  const seq = Number(seqText);
  if (!Number.isSafeInteger(seq)) return malformed('"seq" is not a safe integer');
  const prevStart = seqEnd + prevField.length;
  if (!text.startsWith(prevField, seqEnd) || !text.startsWith(kindField, prevStart + 64)) return malformed(badHeader);
  const prev = text.slice(prevStart, prevStart + 64);
  const kindStart = prevStart + 64 + kindField.length;
  const kindEnd = text.indexOf('"', kindStart);
  const kind = text.slice(kindStart, kindEnd);
  if (kind !== 'event' && kind !== 'checkpoint' && kind !== 'genesis')
    return malformed('"kind" is not genesis, event or checkpoint');
  if (!text.startsWith(bodyField, kindEnd)) return malformed(badHeader);
  const bodyJson = text.slice(kindEnd + bodyField.length);
  let body: unknown;
  try {
    body = JSON.parse(bodyJson);
  } catch {
    return malformed('the "body" field is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return malformed('the "body" field is not a JSON object');
  }
  return { ok: true, record: { seq, prev, kind, body: body as Record<string, unknown>, bodyJson, hash: storedHash } };
}
