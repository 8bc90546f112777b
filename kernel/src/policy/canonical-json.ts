/**
 * The policy module hashes and MACs canonical JSON (RFC 8785 style) through the kernel core's one
 * implementation, so action digests, approval tokens and capability caveats are encoded exactly
 * like log events and state digests.
 */
export { canonicalJson } from '../core/canonical-json.js';

/** A JSON value as the policy module hashes and MACs it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
