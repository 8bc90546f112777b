import { randomBytes } from 'node:crypto';
import { encodingsOf } from './encodings.js';
import type { EncodedForm } from './encodings.js';
import { isSecretName } from './limits.js';

export { encodingsOf };
export type { EncodedForm };

/** A planted secret for leak tests: a name and a fresh random value that occurs nowhere else. */
export type Canary = { readonly name: string; readonly value: string };

/**
 * A unique secret to plant before a cross-boundary test. The value mixes letters, digits and
 * characters that base64 and URL encoding change, so every form of `encodingsOf` is distinct;
 * assert that none of them appears in the output under test.
 */
export function makeCanary(name: string): Canary {
  if (!isSecretName(name)) throw new TypeError(`invalid canary name ${JSON.stringify(name)}`);
  return { name, value: `cc-canary/${randomBytes(18).toString('base64url')}+${randomBytes(4).toString('hex')}` };
}

/** The forms of `value` (see `encodingsOf`) that occur in `text`; empty when nothing leaked. */
export function leakedForms(text: string, value: string): readonly EncodedForm[] {
  return encodingsOf(value).filter((form) => text.includes(form.text));
}
