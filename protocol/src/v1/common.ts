import * as z from 'zod/mini';
import { Limits } from '../limits.js';

/** A string of at most `lengthMax` UTF-16 code units. */
export function boundedString(lengthMax: number): z.ZodMiniString<string> {
  return z.string().check(z.maxLength(lengthMax));
}

/** A non-empty string of at most `lengthMax` UTF-16 code units. */
export function nonEmptyString(lengthMax: number): z.ZodMiniString<string> {
  return z.string().check(z.minLength(1), z.maxLength(lengthMax));
}

/** A safe integer in `[minimum, maximum]`. */
export function boundedInt(minimum: number, maximum: number): z.ZodMiniNumber<number> {
  return z.int().check(z.minimum(minimum), z.maximum(maximum));
}

/** A request id: a non-negative safe integer or a short string (the envelope rules, as a schema). */
export const RequestIdSchema = z.union([z.int().check(z.minimum(0)), boundedString(Limits.requestIdLengthMax)]);

/**
 * A token chosen by the caller and put in a request's `progressToken` param; the callee echoes it
 * in `$/progress` so reports can be routed without knowing the JSON-RPC id (as in LSP).
 */
export const ProgressTokenSchema = z.union([z.int().check(z.minimum(0)), boundedString(Limits.requestIdLengthMax)]);

/** A short identifier: provider, model, tool, server name. */
export const NameSchema = nonEmptyString(Limits.nameLengthMax);

/** Free text such as message content, documents and snippets. */
export const TextSchema = boundedString(Limits.textLengthMax);

/** A repository-relative path with `/` separators: not absolute, no NUL, no `..` segment. */
export const RelativePathSchema = nonEmptyString(Limits.pathLengthMax).check(
  z.regex(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[^\0\\]*$/, 'must be a relative path with / separators and no .. segment'),
);

/** A method name as listed in capabilities: `resource/verb` or `$/name`, or a bare lifecycle name. */
export const MethodNameSchema = nonEmptyString(Limits.methodNameLengthMax).check(
  z.regex(/^(?:\$\/[A-Za-z][A-Za-z0-9]*|[a-z][A-Za-z0-9]*(?:\/[A-Za-z][A-Za-z0-9]*)?)$/, 'must be a method name'),
);

/** A `major.minor.patch` version string. */
export const VersionSchema = boundedString(32).check(
  z.regex(/^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$/, 'must be major.minor.patch'),
);

/** The empty params of a method that takes none; the envelope may also omit `params`. */
export const NoParamsSchema = z.optional(z.strictObject({}));

/** Token counts reported by a provider. */
export const UsageSchema = z.strictObject({
  inputTokens: boundedInt(0, Limits.tokensMax),
  outputTokens: boundedInt(0, Limits.tokensMax),
});

/** Credentials and endpoint for one call to a model provider; handed to the net sidecar per call. */
export const ProviderTargetShape = {
  provider: NameSchema,
  model: NameSchema,
  baseUrl: z.optional(nonEmptyString(Limits.urlLengthMax).check(z.regex(/^https?:\/\//, 'must be an http(s) URL'))),
  apiKey: z.optional(nonEmptyString(Limits.credentialLengthMax)),
} as const;
