/**
 * `export`: the events of a log as JSONL, one event per line, each passed through a redaction
 * function first. Only records that passed verification are exported; the report says whether
 * the whole log did.
 */
import { cleanJsonText } from '../host/secrets-boundary.js';
import type { MacKey } from '../host/state-dir.js';
import { scanLog, type ScanReport } from './scan.js';

/** Turns a serialised event into its redacted form; must return valid JSON of an object. */
export type Redact = (text: string) => string;

/** The outcome of `exportLog`. */
export type ExportReport = {
  readonly scan: ScanReport;
  readonly exported: number;
  /** Set when redaction returned something that is not a JSON object; export stopped there. */
  readonly redactionFailure: { readonly record: number; readonly reason: string } | null;
};

/**
 * Writes every verified event of the log at `path` to `write`, one line each (newline included),
 * in log order, each passed through `redact` (default: the active secrets boundary). Fails closed:
 * a redacted line that is not a JSON object stops the export.
 */
export function exportLog(
  path: string,
  options: { readonly anchorKey: MacKey | null; readonly redact?: Redact; readonly write: (line: string) => void },
): ExportReport {
  // The default is the process's redaction boundary: known secrets, token shapes and hidden text.
  const redact = options.redact ?? cleanJsonText;
  let exported = 0;
  let redactionFailure: { record: number; reason: string } | null = null;
  const scan = scanLog(path, {
    anchorKey: options.anchorKey,
    visit: (record) => {
      if (record.kind !== 'event' || redactionFailure !== null) return;
      const text = redact(record.bodyJson);
      if (!isJsonObjectLine(text)) {
        redactionFailure = { record: record.seq, reason: 'redaction did not return a one-line JSON object' };
        return;
      }
      options.write(`${text}\n`);
      exported++;
    },
  });
  return { scan, exported, redactionFailure };
}

function isJsonObjectLine(text: string): boolean {
  if (text.includes('\n')) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
