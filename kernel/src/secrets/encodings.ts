import { SecretLimits } from './limits.js';

/** The names of the forms in which the redactor recognizes a secret value. */
export const EncodingKinds = [
  'exact',
  'json-escaped',
  'base64',
  'base64-unpadded',
  'base64url',
  'base64url-unpadded',
  'base64-offset-0',
  'base64-offset-1',
  'base64-offset-2',
  'base64url-offset-0',
  'base64url-offset-1',
  'base64url-offset-2',
  'hex-lower',
  'hex-upper',
  'uri-component',
  'uri-component-lower',
  'form-urlencoded',
] as const;

/** One form of a secret value. */
export type EncodingKind = (typeof EncodingKinds)[number];

/** A secret value as it appears in one encoding. */
export type EncodedForm = { readonly encoding: EncodingKind; readonly text: string };

/**
 * Every distinct form of `value` the redactor matches, the value itself first.
 *
 * Values shorter than `SecretLimits.exactCharsMin` have no forms (they are never redacted); values
 * shorter than `SecretLimits.encodedCharsMin` have only the exact form. Encodings are of the UTF-8
 * bytes. The `offset-k` forms are the base64 characters fully determined by the value when it sits
 * `k` bytes (mod 3) into a longer base64-encoded blob; line-wrapped base64 is not recognized.
 */
export function encodingsOf(value: string): readonly EncodedForm[] {
  if (value.length < SecretLimits.exactCharsMin) return [];
  const forms: EncodedForm[] = [];
  const seen = new Set<string>();
  const add = (encoding: EncodingKind, text: string | undefined): void => {
    if (text === undefined || text.length < SecretLimits.exactCharsMin || seen.has(text)) return;
    seen.add(text);
    forms.push({ encoding, text });
  };
  add('exact', value);
  if (value.length < SecretLimits.encodedCharsMin) return forms;

  const bytes = Buffer.from(value, 'utf8');
  add('json-escaped', JSON.stringify(value).slice(1, -1));
  const base64 = bytes.toString('base64');
  add('base64', base64);
  add('base64-unpadded', base64.replace(/=+$/, ''));
  const base64url = bytes.toString('base64url');
  add('base64url', base64url + '='.repeat((4 - (base64url.length % 4)) % 4));
  add('base64url-unpadded', base64url);
  for (const offset of [0, 1, 2] as const) {
    const shifted = offsetBase64(bytes, offset);
    add(`base64-offset-${offset}`, shifted);
    add(`base64url-offset-${offset}`, shifted.replaceAll('+', '-').replaceAll('/', '_'));
  }
  const hex = bytes.toString('hex');
  add('hex-lower', hex);
  add('hex-upper', hex.toUpperCase());
  const component = uriComponent(value);
  add('uri-component', component);
  add(
    'uri-component-lower',
    component?.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
  );
  add('form-urlencoded', new URLSearchParams([['', value]]).toString().slice(1));
  return forms;
}

/**
 * The base64 characters that depend only on `bytes` when they start `offset` bytes into a blob.
 * Character i covers bits [6i, 6i + 6); the value covers bits [8·offset, 8·offset + 8·length).
 */
function offsetBase64(bytes: Buffer, offset: 0 | 1 | 2): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * offset + 8 * bytes.length) / 6);
  return encoded.slice(first, end);
}

function uriComponent(value: string): string | undefined {
  try {
    return encodeURIComponent(value);
  } catch {
    // A lone surrogate cannot be URI-encoded, so that form cannot occur.
    return undefined;
  }
}
