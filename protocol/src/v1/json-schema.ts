import * as z from 'zod/mini';
import type { MethodName } from './methods.js';
import { Methods, methodFileStem } from './methods.js';

function render(schema: z.ZodMiniType): string {
  return `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }), null, 2)}\n`;
}

/**
 * File name → JSON Schema text (draft 2020-12) for every params and result schema in the v1
 * method table, for peers written in other languages. Strict objects become
 * `"additionalProperties": false`.
 */
export function renderJsonSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const method of Object.keys(Methods).sort() as MethodName[]) {
    const row = Methods[method];
    const stem = methodFileStem(method);
    files.set(`${stem}.params.schema.json`, render(row.params));
    if (row.kind === 'request') files.set(`${stem}.result.schema.json`, render(row.result));
  }
  return files;
}
