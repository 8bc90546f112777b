import { encodingsOf } from './encodings.js';
import { isSecretName, SecretLimits } from './limits.js';
import { RedactionStage } from './redaction-stage.js';
import type { StageStream } from './redaction-stage.js';
import { Secret } from './secret.js';
import { shapeBoundary, tokenShapes } from './token-shapes.js';
import { TriggerTrie } from './trigger-trie.js';

/** A known secret as the redactor needs it. */
export type RedactionSecret = { readonly name: string; readonly value: string };

/** Redacts text that arrives in chunks; `push` returns what is final, `end` flushes the rest. */
export type RedactionStream = { push(chunk: string): string; end(): string };

/**
 * The redaction boundary. Every model-visible string, receipt, log payload, export, CLI output,
 * error message and worker contract passes through one of these.
 */
export type Redactor = {
  /** Replaces every known secret (in every encoding of `encodingsOf`) and every token shape. */
  redact(text: string): string;
  /** A stream that gives the same output as `redact` on the concatenated chunks, however they are split. */
  stream(): RedactionStream;
  /**
   * Redacts every string (keys too) inside JSON-like data, as `JSON.stringify` would see it (`toJSON` is
   * honoured); `Secret` instances become their marker. Catches values that JSON escaping would hide.
   */
  redactJson(value: unknown): unknown;
};

/** The marker that replaces a secret or a token shape. */
export function redactionMarker(name: string): string {
  return `[REDACTED:${name}]`;
}

const escapeRegex = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/**
 * Builds the redaction boundary for `secrets`.
 *
 * Two stages run in order: first the literal forms of the known secrets (so a secret is named even
 * inside a token shape), then the token shapes. Both skip markers they or the other stage wrote, so
 * redacting twice changes nothing. Values shorter than `SecretLimits.exactCharsMin` are ignored;
 * encoded forms are matched from `SecretLimits.encodedCharsMin` characters on. Names must match
 * `secretNamePattern`; a bad name or an over-long value is a bug in the caller and throws.
 */
export function createRedactor(secrets: ReadonlyArray<RedactionSecret>): Redactor {
  const needleNames = new Map<string, string>();
  const markerNames = new Set<string>(tokenShapes.map((shape) => shape.name));
  for (const { name, value } of secrets) {
    if (!isSecretName(name)) throw new TypeError(`invalid secret name ${JSON.stringify(name.slice(0, 80))}`);
    if (value.length > SecretLimits.valueCharsMax) {
      throw new RangeError(`secret ${name} is longer than ${SecretLimits.valueCharsMax} characters`);
    }
    markerNames.add(name);
    for (const form of encodingsOf(value)) {
      if (!needleNames.has(form.text)) needleNames.set(form.text, name);
    }
  }
  // Longest first: at one position the regex takes the first alternative that matches.
  const markers = [...markerNames].sort().map(redactionMarker);
  const markerSource = `(?<marker>${markers.map(escapeRegex).join('|')})`;

  const literalTrie = new TriggerTrie(false);
  for (const marker of markers) literalTrie.add(marker, marker.length);
  const needles = [...needleNames.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  for (const needle of needles) literalTrie.add(needle, needle.length);
  const literalSource =
    needles.length === 0 ? markerSource : `${markerSource}|(?<needle>${needles.map(escapeRegex).join('|')})`;
  const literalStage = new RedactionStage(new RegExp(literalSource, 'g'), literalTrie, (match) => {
    const needleName = match.groups?.['needle'] === undefined ? undefined : needleNames.get(match[0]);
    return needleName === undefined ? match[0] : redactionMarker(needleName);
  });

  const shapeTrie = new TriggerTrie(true);
  for (const marker of markers) shapeTrie.add(marker, marker.length);
  const shapeAlternatives = tokenShapes.map((shape, index) => {
    for (const trigger of shape.triggers) shapeTrie.add(trigger, shape.inspectChars);
    const prefix = shape.prefix === undefined ? '' : `(?<prefix${index}>${shape.prefix})`;
    return `(?<shape${index}>${prefix}${shape.body})`;
  });
  const shapeSource = `${markerSource}|${shapeBoundary}(?:${shapeAlternatives.join('|')})`;
  const shapeStage = new RedactionStage(new RegExp(shapeSource, 'g'), shapeTrie, (match) => {
    const groups = match.groups ?? {};
    for (const [index, shape] of tokenShapes.entries()) {
      if (groups[`shape${index}`] === undefined) continue;
      return (groups[`prefix${index}`] ?? '') + redactionMarker(shape.name);
    }
    return match[0];
  });

  const redact = (text: string): string => shapeStage.run(literalStage.run(text));
  const redactJson = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(value);
    if (Secret.is(value)) return value.marker;
    if (Array.isArray(value)) return value.map(redactJson);
    if (typeof value === 'object' && value !== null && 'toJSON' in value && typeof value.toJSON === 'function') {
      return redactJson((value.toJSON as () => unknown)());
    }
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key), redactJson(item)]));
    }
    return value;
  };

  return {
    redact,
    redactJson,
    stream(): RedactionStream {
      const literal: StageStream = literalStage.stream();
      const shape: StageStream = shapeStage.stream();
      return {
        push: (chunk: string): string => shape.push(literal.push(chunk)),
        end: (): string => shape.push(literal.end()) + shape.end(),
      };
    },
  };
}

/**
 * A redactor for live `Secret`s. Each value leaves its wrapper once, with the purpose
 * `redaction boundary`, so the audit log shows the redactor was built.
 */
export function redactorForSecrets(secrets: ReadonlyArray<Secret>): Redactor {
  return createRedactor(secrets.map((secret) => ({ name: secret.name, value: secret.expose('redaction boundary') })));
}
