import { readFileSync } from 'node:fs';

/** Scenario name → why it is known to fail. */
export type ExpectedFailures = ReadonlyMap<string, string>;

/**
 * Parses an expected-failures file: a JSON object mapping scenario names to a non-empty reason,
 * `{ "fixture net.complete/valid/request-tools-stream.json": "no network in CI" }`. Throws a
 * one-line error naming the bad entry.
 */
export function parseExpectedFailures(text: string, source = 'expected-failures file'): ExpectedFailures {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${source}: not JSON (${error instanceof Error ? error.message : 'unknown reason'}); fix the file`,
      {
        cause: error,
      },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${source}: expected an object mapping scenario names to reasons; fix the file`);
  }
  const entries = new Map<string, string>();
  for (const [name, reason] of Object.entries(value)) {
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`${source}: ${JSON.stringify(name)} needs a reason (a non-empty string); say why it fails`);
    }
    entries.set(name, reason);
  }
  return entries;
}

/** Reads and parses an expected-failures file. */
export function readExpectedFailures(path: string): ExpectedFailures {
  return parseExpectedFailures(readFileSync(path, 'utf8'), path);
}
