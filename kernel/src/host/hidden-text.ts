/**
 * Hidden text: characters that change what a reader (or a model) takes from a text without being
 * seen. Unicode tag characters (U+E0000–U+E007F) spell invisible ASCII, bidi controls reorder what
 * is displayed, zero-width characters split or join words unseen. The kernel prints none of them:
 * each becomes a visible `[U+XXXX]` marker, which holds no quote or backslash, so JSON output stays
 * valid.
 */

/** The kinds of hidden character the kernel reports. */
export type HiddenKind = 'tag' | 'bidi' | 'zeroWidth';

/** What `flagHiddenText` found, by kind. */
export type HiddenCounts = { readonly tag: number; readonly bidi: number; readonly zeroWidth: number };

/** The neutralised text and what was hidden in it. */
export type HiddenTextReport = {
  /** The text with every hidden character replaced by its `[U+XXXX]` marker. */
  readonly text: string;
  readonly counts: HiddenCounts;
  /** Sum of `counts`; 0 when the text was clean (then `text` is the input). */
  readonly total: number;
};

// Tags are astral: with the `u` flag one match is one code point, never half a surrogate pair.
const hiddenPattern = /[\u{E0000}-\u{E007F}\u202A-\u202E\u2066-\u2069\u200B-\u200F\u2060-\u2064\uFEFF\u061C]/gu;

/** The kind of one hidden code point. */
function kindOf(codePoint: number): HiddenKind {
  if (codePoint >= 0xe0000) return 'tag';
  if ((codePoint >= 0x202a && codePoint <= 0x202e) || (codePoint >= 0x2066 && codePoint <= 0x2069)) return 'bidi';
  if (codePoint === 0x061c || codePoint === 0x200e || codePoint === 0x200f) return 'bidi';
  return 'zeroWidth';
}

/** The visible marker of a hidden code point. */
export function hiddenMarker(codePoint: number): string {
  return `[U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}]`;
}

/**
 * Reports and neutralises hidden characters: Unicode tags (U+E0000–U+E007F), bidi controls
 * (U+202A–U+202E, U+2066–U+2069, LRM, RLM, ALM) and zero-width or invisible characters (U+200B–U+200D,
 * U+2060–U+2064, U+FEFF). Apply it to any untrusted text the kernel prints or hands to a model.
 */
export function flagHiddenText(text: string): HiddenTextReport {
  const counts = { tag: 0, bidi: 0, zeroWidth: 0 };
  const neutralised = text.replace(hiddenPattern, (char) => {
    const codePoint = char.codePointAt(0) ?? 0;
    counts[kindOf(codePoint)]++;
    return hiddenMarker(codePoint);
  });
  const total = counts.tag + counts.bidi + counts.zeroWidth;
  return { text: total === 0 ? text : neutralised, counts, total };
}

/** One line for a person: how many hidden characters of each kind were escaped. */
export function describeHidden(counts: HiddenCounts): string {
  const parts: string[] = [];
  if (counts.tag > 0) parts.push(`${counts.tag} Unicode tag character(s)`);
  if (counts.bidi > 0) parts.push(`${counts.bidi} bidi control(s)`);
  if (counts.zeroWidth > 0) parts.push(`${counts.zeroWidth} zero-width character(s)`);
  return parts.join(', ');
}

/** A chunked neutraliser: a high surrogate at the end of a chunk waits for its pair. */
export type HiddenTextStream = { push(chunk: string): string; end(): string };

/** A fresh stream whose output, however the input is split, equals `flagHiddenText` of the whole. */
export function hiddenTextStream(): HiddenTextStream {
  let carry = '';
  return {
    push(chunk: string): string {
      const text = carry + chunk;
      const last = text.charCodeAt(text.length - 1);
      const split = text.length > 0 && last >= 0xd800 && last <= 0xdbff;
      carry = split ? text.slice(-1) : '';
      return flagHiddenText(split ? text.slice(0, -1) : text).text;
    },
    end(): string {
      const rest = carry;
      carry = '';
      return flagHiddenText(rest).text;
    },
  };
}
