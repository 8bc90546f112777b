/** The committed JSON Schemas match the zod source. Refresh with `npx tsx protocol/src/generate-schema.ts`. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { schemaDirectory } from '../src/generate-schema.js';
import { renderJsonSchemas } from '../src/v1/json-schema.js';

test('committed JSON Schemas match the zod source', () => {
  const expected = renderJsonSchemas();
  expect(readdirSync(schemaDirectory).sort()).toEqual([...expected.keys()].sort());
  for (const [file, text] of expected) {
    expect(readFileSync(join(schemaDirectory, file), 'utf8'), file).toBe(text);
  }
});
