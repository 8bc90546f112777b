import * as z from 'zod/mini';
import { Limits } from '../limits.js';
import { boundedString, NameSchema, nonEmptyString, TextSchema } from './common.js';

/** `mcp/callTool` params: call one tool of one configured MCP server. */
export const CallToolParamsSchema = z.strictObject({
  server: NameSchema,
  tool: NameSchema,
  arguments: z.record(boundedString(Limits.nameLengthMax), z.unknown()),
});

/** One block of tool output: text, or an image as base64. Tool output is untrusted data. */
export const ContentBlockSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: TextSchema }),
  z.strictObject({
    type: z.literal('image'),
    mimeType: nonEmptyString(Limits.nameLengthMax).check(z.regex(/^image\//, 'must be an image/* type')),
    data: TextSchema.check(z.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')),
  }),
]);

/** `mcp/callTool` result: the tool's content blocks, and whether the tool reported an error. */
export const CallToolResultSchema = z.strictObject({
  content: z.array(ContentBlockSchema).check(z.maxLength(Limits.contentBlocksMax)),
  isError: z.boolean(),
});
