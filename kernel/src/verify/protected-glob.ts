/**
 * A small path glob matcher with a hard step bound.
 *
 * Syntax: `*` (any run of characters except `/`), `?` (one character except `/`), `**` (any run
 * including `/`; as a whole segment `**` + `/` also matches no directory at all), `{a,b}`
 * (alternatives, nestable). Everything else is literal. A pattern matches the whole path.
 *
 * Matching is a table over (pattern token, path position) filled once from the end, so a match
 * costs at most `tokens × (path length + 1)` steps per brace alternative: no backtracking, no
 * regular expression, no blow-up. Inputs beyond the limits never match.
 */

/** Bounds of the matcher. */
export const GlobLimits = {
  patternBytesMax: 1024,
  pathBytesMax: 4096,
  alternativesMax: 64,
  /** Steps a single `matchGlob` call may take, over all alternatives. */
  stepsMax: 2_000_000,
} as const;

type Token =
  | { readonly kind: 'literal'; readonly char: string }
  | { readonly kind: 'star' }
  | { readonly kind: 'question' }
  | { readonly kind: 'globstar' }
  | { readonly kind: 'globstarSlash' };

/** Expands `{a,b}` alternatives; undefined when unbalanced or over the alternatives limit. */
export function expandBraces(pattern: string): string[] | undefined {
  const open = pattern.indexOf('{');
  if (open < 0) return pattern.includes('}') ? undefined : [pattern];
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let index = open; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === '{') depth += 1;
    else if (char === '}') {
      depth -= 1;
      if (depth === 0) {
        close = index;
        break;
      }
    } else if (char === ',' && depth === 1) commas.push(index);
  }
  if (close < 0) return undefined;
  const bounds = [open, ...commas, close];
  const prefix = pattern.slice(0, open);
  const suffix = pattern.slice(close + 1);
  const results: string[] = [];
  for (let index = 0; index + 1 < bounds.length; index += 1) {
    const option = pattern.slice((bounds[index] ?? 0) + 1, bounds[index + 1]);
    const expanded = expandBraces(prefix + option + suffix);
    if (expanded === undefined) return undefined;
    results.push(...expanded);
    if (results.length > GlobLimits.alternativesMax) return undefined;
  }
  return results;
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index] ?? '';
    if (char === '*') {
      if (pattern[index + 1] === '*') {
        const atSegmentStart = index === 0 || pattern[index - 1] === '/';
        if (atSegmentStart && pattern[index + 2] === '/') {
          tokens.push({ kind: 'globstarSlash' });
          index += 2;
        } else {
          tokens.push({ kind: 'globstar' });
          index += 1;
          while (pattern[index + 1] === '*') index += 1;
        }
      } else tokens.push({ kind: 'star' });
    } else if (char === '?') tokens.push({ kind: 'question' });
    else tokens.push({ kind: 'literal', char });
  }
  return tokens;
}

/** The result of a match, with the steps it took (for tests of the bound). */
export interface GlobMatch {
  readonly matched: boolean;
  readonly steps: number;
}

/** Matches `path` against `pattern`, within `GlobLimits.stepsMax` steps. */
export function matchGlobCounted(pattern: string, path: string): GlobMatch {
  if (pattern.length > GlobLimits.patternBytesMax || path.length > GlobLimits.pathBytesMax) {
    return { matched: false, steps: 0 };
  }
  const alternatives = expandBraces(pattern);
  if (alternatives === undefined) return { matched: false, steps: 0 };
  let steps = 0;
  for (const alternative of alternatives) {
    const tokens = tokenize(alternative);
    const cost = (tokens.length + 1) * (path.length + 1);
    if (steps + cost > GlobLimits.stepsMax) return { matched: false, steps };
    steps += cost;
    if (matchTokens(tokens, path)) return { matched: true, steps };
  }
  return { matched: false, steps };
}

/** True when `path` matches `pattern` (see the module comment for the syntax). */
export function matchGlob(pattern: string, path: string): boolean {
  return matchGlobCounted(pattern, path).matched;
}

function matchTokens(tokens: readonly Token[], path: string): boolean {
  const width = path.length + 1;
  // next[j]: tokens i+1.. match path[j..]; current[j]: tokens i.. match path[j..].
  let next = new Uint8Array(width);
  next[path.length] = 1;
  for (let i = tokens.length - 1; i >= 0; i -= 1) {
    const token = tokens[i];
    const current = new Uint8Array(width);
    if (token === undefined) break;
    // slashAhead: some k >= j with path[k] === '/' and next[k + 1] set.
    let slashAhead = 0;
    for (let j = path.length; j >= 0; j -= 1) {
      const char = path[j];
      let value = 0;
      switch (token.kind) {
        case 'literal':
          value = j < path.length && char === token.char ? (next[j + 1] ?? 0) : 0;
          break;
        case 'question':
          value = j < path.length && char !== '/' ? (next[j + 1] ?? 0) : 0;
          break;
        case 'star':
          value = (next[j] ?? 0) | (j < path.length && char !== '/' ? (current[j + 1] ?? 0) : 0);
          break;
        case 'globstar':
          value = (next[j] ?? 0) | (j < path.length ? (current[j + 1] ?? 0) : 0);
          break;
        case 'globstarSlash':
          if (j < path.length && char === '/' && next[j + 1] === 1) slashAhead = 1;
          value = (next[j] ?? 0) | slashAhead;
          break;
        default:
          token satisfies never;
      }
      current[j] = value;
    }
    next = current;
  }
  return next[0] === 1;
}
