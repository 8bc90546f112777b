import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderJsonSchemas } from './v1/json-schema.js';

/** Where the committed v1 JSON Schemas live, relative to this package. */
export const schemaDirectory = resolve(import.meta.dirname, '..', 'schema', 'v1');

/**
 * Writes every v1 JSON Schema into `directory` and removes files there that the method table no
 * longer produces. Returns the names written, sorted.
 */
export function writeJsonSchemas(directory: string = schemaDirectory): readonly string[] {
  const files = renderJsonSchemas();
  mkdirSync(directory, { recursive: true });
  for (const name of readdirSync(directory)) {
    if (!files.has(name)) rmSync(join(directory, name));
  }
  for (const [name, text] of files) writeFileSync(join(directory, name), text);
  return [...files.keys()].sort();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const written = writeJsonSchemas();
  process.stdout.write(`wrote ${written.length} JSON Schemas to protocol/schema/v1\n`);
}
