/**
 * The only writer of a log: holds the single-writer lock, appends records with the chosen
 * durability, and moves the MAC'd head anchor after every append batch.
 *
 * Order of writes per batch: records, fsync of the log, then the anchor (temp file, fsync,
 * rename). A crash can therefore leave a torn final line or records past the anchor, both of
 * which `inspect` reports; it never leaves an anchor that names records that are not on disk.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../core/index.js';
import { fsyncDir, type MacKey } from '../host/state-dir.js';
import { makeAnchor, writeAnchor } from './head-anchor.js';
import { LogError } from './log-error.js';
import { LogLimits, encodeRecord, logFormatName, zeroHash, type RecordKind } from './record-format.js';
import { scanLog } from './scan.js';
import { acquireLock, releaseLock, type HeldLock, type LockHolder } from './writer-lock.js';

/** `every`: fsync after each record. `batch`: one fsync per `appendBatch`. */
export type Durability = 'every' | 'batch';

/** What a checkpoint record commits to; see `checkpointOf` in `replay.ts`. */
export type CheckpointBody = {
  readonly eventCount: number;
  readonly actionCount: number;
  readonly stateSha256: string;
  readonly actionsSha256: string;
};

/** Options shared by `LogWriter.create` and `LogWriter.open`. */
export type LogWriterOptions = {
  /** The state-dir key `log-anchor`. */
  readonly anchorKey: MacKey;
  readonly durability: Durability;
  /** The current time, recorded in the lock (and the genesis record on create). */
  readonly nowMs: number;
  /**
   * The redaction boundary for event payloads, applied before encoding (the hash chain covers the
   * redacted bytes). It must leave ids and digests unchanged; the host passes `redactEventFields`.
   */
  readonly redactEvent?: (event: object) => object;
};

/** Extra options of `LogWriter.create`; `logId` is random unless given (fixtures pin it). */
export type LogCreateOptions = LogWriterOptions & { readonly logId?: string };

const logIdPattern = /^[0-9a-f]{32}$/;

/** The single writer of one log file. Not reentrant; one instance per open log. */
export class LogWriter {
  /** Path of the log file. */
  readonly path: string;
  /** The random id named in the genesis record. */
  readonly logId: string;
  /** Set when opening took over the lock of a crashed writer. */
  readonly tookOverLockFrom: LockHolder | null;
  readonly #key: MacKey;
  readonly #durability: Durability;
  readonly #lock: HeldLock;
  readonly #redactEvent: (event: object) => object;
  #fd: number | null;
  #lastSeq: number;
  #lastHash: string;

  private constructor(
    path: string,
    logId: string,
    fd: number,
    lock: HeldLock,
    options: LogWriterOptions,
    head: { seq: number; hash: string },
  ) {
    this.path = path;
    this.logId = logId;
    this.tookOverLockFrom = lock.tookOverFrom;
    this.#key = options.anchorKey;
    this.#durability = options.durability;
    this.#lock = lock;
    this.#redactEvent = options.redactEvent ?? ((event) => event);
    this.#fd = fd;
    this.#lastSeq = head.seq;
    this.#lastHash = head.hash;
  }

  /** Creates a new log with its genesis record and anchor; refuses if the file exists. */
  static create(path: string, options: LogCreateOptions): LogWriter {
    const logId = options.logId ?? randomBytes(16).toString('hex');
    if (!logIdPattern.test(logId))
      throw new LogError('invalidEvent', `log id '${logId}' is not 32 lowercase hex digits.`);
    const lock = acquireLock(path, options.nowMs);
    let fd: number;
    try {
      fd = openSync(
        path,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
    } catch (error) {
      releaseLock(lock);
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new LogError('exists', `log ${path} already exists; open it to append, or choose a new path.`);
      }
      throw new LogError('io', `cannot create log ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
    }
    const genesisBody = canonicalJson({
      format: logFormatName,
      version: LogLimits.formatVersion,
      logId,
      createdAtMs: options.nowMs,
    });
    const genesis = encodeRecord(0, zeroHash, 'genesis', genesisBody);
    try {
      writeAll(fd, genesis.line);
      fsyncSync(fd);
      fsyncDir(dirname(path));
      writeAnchor(path, makeAnchor(options.anchorKey, logId, 0, genesis.hash));
    } catch (error) {
      closeSync(fd);
      releaseLock(lock);
      throw new LogError('io', `cannot write the genesis of log ${path}: ${errorCode(error)}.`);
    }
    return new LogWriter(path, logId, fd, lock, options, { seq: 0, hash: genesis.hash });
  }

  /**
   * Opens an existing log for appending. The whole log is verified first; a log that is not
   * intact (torn, tampered, unanchored) is refused, nothing is written, and the lock is released.
   */
  static open(path: string, options: LogWriterOptions): LogWriter {
    const lock = acquireLock(path, options.nowMs);
    try {
      const report = scanLog(path, { anchorKey: options.anchorKey });
      if (report.status === 'unreadable' && report.reason?.includes('no such file') === true) {
        throw new LogError('notFound', `log ${path} does not exist; create it first.`);
      }
      if (report.status !== 'intact' || report.logId === null || report.lastSeq === null || report.lastHash === null) {
        const where = report.firstBadRecord === null ? '' : ` at record ${report.firstBadRecord}`;
        throw new LogError(
          'notIntact',
          `log ${path} is ${report.status}${where} (${report.reason ?? 'not intact'}); refusing to append. ` +
            `Run 'crustcore inspect ${path}', keep what is intact with 'crustcore export ${path}', and start a new log.`,
        );
      }
      let fd: number;
      try {
        fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
      } catch (error) {
        throw new LogError('io', `cannot open log ${path} for appending: ${errorCode(error)}.`);
      }
      return new LogWriter(path, report.logId, fd, lock, options, { seq: report.lastSeq, hash: report.lastHash });
    } catch (error) {
      releaseLock(lock);
      throw error;
    }
  }

  /** Sequence number of the last record written. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Hash of the last record written. */
  get lastHash(): string {
    return this.#lastHash;
  }

  /** Appends one event; returns its record sequence number. */
  append(event: object): number {
    return this.appendBatch([event]);
  }

  /** Appends events as one batch; returns the sequence number of the first. */
  appendBatch(events: readonly object[]): number {
    // A malformed event reaches bodyOf unchanged, so it is refused rather than reshaped.
    const redact = (event: object): object =>
      typeof event === 'object' && event !== null && !Array.isArray(event) ? this.#redactEvent(event) : event;
    return this.#appendRecords(events.map((event) => ({ kind: 'event', body: bodyOf(redact(event)) })));
  }

  /** Appends a checkpoint record (the host writes one at the end of a run); returns its sequence number. */
  appendCheckpoint(checkpoint: CheckpointBody): number {
    const body = canonicalJson({
      eventCount: checkpoint.eventCount,
      actionCount: checkpoint.actionCount,
      stateSha256: checkpoint.stateSha256,
      actionsSha256: checkpoint.actionsSha256,
    });
    return this.#appendRecords([{ kind: 'checkpoint', body }]);
  }

  /** Closes the file and releases the lock. Idempotent. */
  close(): void {
    if (this.#fd === null) return;
    closeSync(this.#fd);
    this.#fd = null;
    releaseLock(this.#lock);
  }

  #appendRecords(items: readonly { readonly kind: RecordKind; readonly body: string }[]): number {
    const fd = this.#fd;
    if (fd === null) throw new LogError('closed', `log ${this.path} is closed; open it again to append.`);
    if (items.length === 0) throw new LogError('invalidEvent', 'an append batch must hold at least one record.');
    const first = this.#lastSeq + 1;
    let seq = this.#lastSeq;
    let hash = this.#lastHash;
    const lines: string[] = [];
    for (const item of items) {
      seq++;
      const encoded = encodeRecord(seq, hash, item.kind, item.body);
      if (Buffer.byteLength(encoded.line) > LogLimits.recordBytesMax) {
        throw new LogError(
          'recordTooLarge',
          `record ${seq} would be ${Buffer.byteLength(encoded.line)} bytes, over recordBytesMax (${LogLimits.recordBytesMax}); store large output by digest.`,
        );
      }
      lines.push(encoded.line);
      hash = encoded.hash;
    }
    try {
      if (this.#durability === 'every') {
        for (const line of lines) {
          writeAll(fd, line);
          fsyncSync(fd);
        }
      } else {
        writeAll(fd, lines.join(''));
        fsyncSync(fd);
      }
      writeAnchor(this.path, makeAnchor(this.#key, this.logId, seq, hash));
    } catch (error) {
      // The file may now end in a partial record; stop writing and let inspect report it.
      this.close();
      throw new LogError(
        'io',
        `append to log ${this.path} failed: ${errorCode(error)}; run 'crustcore inspect ${this.path}'.`,
      );
    }
    this.#lastSeq = seq;
    this.#lastHash = hash;
    return first;
  }
}

function bodyOf(event: object): string {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new LogError('invalidEvent', 'an event must be a JSON object.');
  }
  try {
    return canonicalJson(event);
  } catch (error) {
    throw new LogError(
      'invalidEvent',
      `the event is not canonical JSON data: ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

function errorCode(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}
