import { SecretLimits } from './limits.js';
import type { TriggerTrie } from './trigger-trie.js';

/** Turns one match into its replacement. */
export type MatchReplacer = (match: RegExpExecArray) => string;

/** A chunked view of a stage: feed text, receive what is already final. */
export type StageStream = { push(chunk: string): string; end(): string };

/**
 * One pass of find-and-replace with a single global regex whose alternatives all begin with a
 * trigger of `trie`. The one-shot and the streaming forms make identical decisions: a stream only
 * settles positions whose match cannot change with more text, and keeps a few characters of
 * context so look-behind checks see the same text.
 */
export class RedactionStage {
  readonly #regex: RegExp;
  readonly #trie: TriggerTrie;
  readonly #replace: MatchReplacer;

  /** `regex` must be global, without the sticky flag, and never match the empty string. */
  constructor(regex: RegExp, trie: TriggerTrie, replace: MatchReplacer) {
    if (!regex.global || regex.sticky) throw new Error('a redaction stage needs a global, non-sticky regex');
    this.#regex = regex;
    this.#trie = trie;
    this.#replace = replace;
  }

  /** Replaces every match in `text`. */
  run(text: string): string {
    return this.#scan(text, 0, text.length).output;
  }

  /** A fresh stream over this stage. */
  stream(): StageStream {
    let buffer = '';
    let start = 0;
    const drain = (final: boolean): string => {
      const settled = final ? buffer.length : this.#trie.earliestUndecided(buffer, start);
      const { output, position } = this.#scan(buffer, start, settled);
      const keepFrom = Math.max(0, position - SecretLimits.lookbehindChars);
      buffer = buffer.slice(keepFrom);
      start = position - keepFrom;
      return output;
    };
    return {
      push: (chunk: string): string => {
        buffer += chunk;
        return drain(false);
      },
      end: (): string => {
        const output = drain(true);
        buffer = '';
        start = 0;
        return output;
      },
    };
  }

  /**
   * Replaces matches that start in [from, settled); text before `settled` that no match covers is
   * copied. A match may end past `settled`; scanning then stops at its end.
   */
  #scan(text: string, from: number, settled: number): { output: string; position: number } {
    const regex = this.#regex;
    let output = '';
    let position = from;
    while (position < settled) {
      regex.lastIndex = position;
      const match = regex.exec(text);
      if (match === null || match.index >= settled) {
        output += text.slice(position, settled);
        position = settled;
        break;
      }
      const matched = match[0];
      if (matched.length === 0) throw new Error('a redaction pattern matched the empty string');
      output += text.slice(position, match.index) + this.#replace(match);
      position = match.index + matched.length;
    }
    return { output, position };
  }
}
