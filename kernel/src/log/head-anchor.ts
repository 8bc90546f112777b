/**
 * The head anchor `<log>.head`: the log id, the last sequence number and the last record hash,
 * MAC'd with the state-dir key `log-anchor`. The hash chain alone cannot show that records were
 * cut from the end; the anchor can, and without the key nobody can move it back.
 */
import { closeSync, constants, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fsyncDir, type MacKey } from '../host/state-dir.js';

/** The state-dir key name that MACs head anchors. */
export const anchorKeyName = 'log-anchor';

/** Longest anchor file read; a real one is about 250 bytes. */
const anchorBytesMax = 4096;

/** The fields an anchor commits to. */
export type HeadAnchor = {
  readonly logId: string;
  readonly seq: number;
  readonly hash: string;
  readonly mac: string;
};

/** Path of the anchor of `logPath`. */
export function anchorPathOf(logPath: string): string {
  return `${logPath}.head`;
}

/** The exact bytes the anchor MAC covers. */
export function anchorMacInput(logId: string, seq: number, hash: string): string {
  return `crustcore-log-head/v1\n${logId}\n${seq}\n${hash}`;
}

/** Builds the anchor for the given head. */
export function makeAnchor(key: MacKey, logId: string, seq: number, hash: string): HeadAnchor {
  return { logId, seq, hash, mac: key.hmacHex(anchorMacInput(logId, seq, hash)) };
}

/** True when the anchor's MAC is right for `key`. */
export function anchorMacValid(key: MacKey, anchor: HeadAnchor): boolean {
  return key.hmacHex(anchorMacInput(anchor.logId, anchor.seq, anchor.hash)) === anchor.mac;
}

/** The anchor file's text for `anchor`. */
export function encodeAnchor(anchor: HeadAnchor): string {
  return `${JSON.stringify({ format: 'crustcore-log-head', version: 1, logId: anchor.logId, seq: anchor.seq, hash: anchor.hash, mac: anchor.mac })}\n`;
}

/** Writes the anchor atomically: temp file, fsync, rename over the old one, fsync the folder. */
export function writeAnchor(logPath: string, anchor: HeadAnchor): void {
  const path = anchorPathOf(logPath);
  const temp = `${dirname(path)}/.${basename(path)}.${process.pid}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, encodeAnchor(anchor));
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  fsyncDir(dirname(path));
}

/** The outcome of reading an anchor file. */
export type AnchorRead =
  | { readonly status: 'present'; readonly anchor: HeadAnchor }
  | { readonly status: 'missing' }
  | { readonly status: 'malformed'; readonly reason: string };

const hex64 = /^[0-9a-f]{64}$/;
const hex32 = /^[0-9a-f]{32}$/;
const anchorKeys = 'format,version,logId,seq,hash,mac';

/** Reads and strictly parses `<log>.head`. */
export function readAnchor(logPath: string): AnchorRead {
  const path = anchorPathOf(logPath);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return {
      status: 'malformed',
      reason: `cannot read the head anchor (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
  const buffer = Buffer.alloc(anchorBytesMax + 1);
  let length = 0;
  try {
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > anchorBytesMax) return { status: 'malformed', reason: 'the head anchor is larger than 4 KiB' };
    }
  } finally {
    closeSync(fd);
  }
  let value: unknown;
  try {
    value = JSON.parse(buffer.toString('utf8', 0, length));
  } catch {
    return { status: 'malformed', reason: 'the head anchor is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Object.keys(value).join(',') !== anchorKeys) {
    return { status: 'malformed', reason: 'the head anchor does not have the fields of a crustcore head anchor' };
  }
  const fields = value as Record<string, unknown>;
  const { logId, seq, hash, mac } = fields;
  if (
    fields['format'] !== 'crustcore-log-head' ||
    fields['version'] !== 1 ||
    typeof logId !== 'string' ||
    !hex32.test(logId) ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 0 ||
    typeof hash !== 'string' ||
    !hex64.test(hash) ||
    typeof mac !== 'string' ||
    !hex64.test(mac)
  ) {
    return { status: 'malformed', reason: 'the head anchor has a field of the wrong type or format' };
  }
  return { status: 'present', anchor: { logId, seq, hash, mac } };
}
