import * as z from 'zod/mini';
import { Limits } from '../limits.js';
import { boundedInt, boundedString, nonEmptyString, RelativePathSchema, TextSchema } from './common.js';

/** `index/search` params: a lexical query over the repository, optionally under one folder. */
export const SearchParamsSchema = z.strictObject({
  query: nonEmptyString(Limits.queryLengthMax),
  pathPrefix: z.optional(RelativePathSchema),
  limit: z.optional(boundedInt(1, Limits.resultItemsMax)),
});

/** One search hit. The snippet is repository content: untrusted data, never instructions. */
export const SearchHitSchema = z.strictObject({
  path: RelativePathSchema,
  startLine: boundedInt(1, Number.MAX_SAFE_INTEGER),
  endLine: boundedInt(1, Number.MAX_SAFE_INTEGER),
  score: z.number(),
  snippet: TextSchema,
});

/** `index/search` result: hits, best first. */
export const SearchResultSchema = z.strictObject({
  hits: z.array(SearchHitSchema).check(z.maxLength(Limits.resultItemsMax)),
});

/** `index/files` params: list indexed files, a page at a time. */
export const FilesParamsSchema = z.strictObject({
  pathPrefix: z.optional(RelativePathSchema),
  limit: z.optional(boundedInt(1, Limits.resultItemsMax)),
  cursor: z.optional(boundedString(Limits.nameLengthMax)),
});

/** `index/files` result: one page of files; `nextCursor` is present when more follow. */
export const FilesResultSchema = z.strictObject({
  files: z
    .array(z.strictObject({ path: RelativePathSchema, sizeBytes: boundedInt(0, Number.MAX_SAFE_INTEGER) }))
    .check(z.maxLength(Limits.resultItemsMax)),
  nextCursor: z.optional(boundedString(Limits.nameLengthMax)),
});
