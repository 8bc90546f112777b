import { assertNever } from '../core/assert.js';
import { PolicyLimits } from './limits.js';

/**
 * The one glob syntax of the kernel: rules-file `branches` and `paths`, the protected-path rules,
 * `--allow-protected` and the config's `protectedPaths`. A glob matches a whole repo-relative
 * path or branch name, case-sensitively.
 *
 * - `*` matches any run of characters except `/`; `?` matches one character except `/`.
 * - `**` must be a whole segment: `**` alone matches everything, `**` + `/x` matches `x` at any
 *   depth, `a/` + `**` + `/b` matches `a/b`, `a/x/b`, …, and `a/` + `**` matches everything under `a/`.
 * - `{a,b}` matches either alternative; groups nest. `[abc]`, `[a-z]`, `[!a]` (or `[^a]`) match
 *   one character from (or not from) a set; a class never matches `/`.
 * - `\` escapes the next character (`\[id\]` matches `[id]`). Dotfiles get no special
 *   treatment: `*` matches `.env`.
 * - Refused: an empty pattern, an empty segment (leading, trailing or double `/`), `**` inside a
 *   segment, unbalanced braces or brackets, a reversed range or `/` in a class, and anything over
 *   the `glob*` bounds of `PolicyLimits`.
 *
 * Matching simulates a Thompson automaton, so time grows with pattern size × subject length and
 * never exponentially; it also stops after `stepsMax` steps and says so instead of answering.
 * Callers fail closed on such an answer: an allow-list does not allow, a deny-list covers.
 */
export class Glob {
  /** The pattern as written. */
  readonly pattern: string;
  readonly #nodes: readonly GlobNode[];
  readonly #starts: readonly number[];

  private constructor(pattern: string, nodes: readonly GlobNode[], starts: readonly number[]) {
    this.pattern = pattern;
    this.#nodes = nodes;
    this.#starts = starts;
    Object.freeze(this);
  }

  /** Compiles a pattern, or explains why it is not a valid glob. */
  static compile(pattern: string): GlobCompile {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      return { ok: false, reason: 'a glob must be a non-empty string' };
    }
    if (pattern.length > PolicyLimits.globPatternCharsMax) {
      return { ok: false, reason: `a glob has at most ${PolicyLimits.globPatternCharsMax} characters` };
    }
    const expanded = expandBraces(pattern);
    if (typeof expanded === 'string') return { ok: false, reason: expanded };
    const nodes: GlobNode[] = [];
    const starts: number[] = [];
    for (const alternative of expanded) {
      const items = parseAlternative(alternative);
      if (typeof items === 'string') return { ok: false, reason: items };
      starts.push(nodes.length);
      emit(items, nodes);
    }
    return { ok: true, glob: new Glob(pattern, nodes, starts) };
  }

  /** Matches `subject` in full, taking at most `stepsMax` automaton steps. */
  match(subject: string, stepsMax: number = PolicyLimits.globStepsMax): GlobMatch {
    if (subject.length > PolicyLimits.globSubjectCharsMax) return { outcome: 'subjectTooLong', steps: 0 };
    return simulate(this.#nodes, this.#starts, subject, stepsMax);
  }
}

/** The result of {@link Glob.compile}. */
export type GlobCompile = { readonly ok: true; readonly glob: Glob } | { readonly ok: false; readonly reason: string };

/**
 * The result of {@link Glob.match}. Only `matched` and `unmatched` are answers; a caller must
 * treat the other outcomes as "could not decide" and fail closed.
 */
export type GlobMatch = {
  readonly outcome: 'matched' | 'unmatched' | 'stepLimitExceeded' | 'subjectTooLong';
  readonly steps: number;
};

/** Compiles a glob (see {@link Glob}). */
export function compileGlob(pattern: string): GlobCompile {
  return Glob.compile(pattern);
}

type CharTest =
  | { readonly kind: 'literal'; readonly codePoint: number }
  | { readonly kind: 'notSlash' }
  | { readonly kind: 'any' }
  | { readonly kind: 'class'; readonly ranges: readonly (readonly [number, number])[]; readonly negated: boolean };

type GlobNode =
  | { readonly op: 'char'; readonly test: CharTest; readonly next: number }
  | { readonly op: 'split'; readonly first: number; readonly second: number }
  | { readonly op: 'match' };

type Item =
  | { readonly kind: 'char'; readonly test: CharTest }
  | { readonly kind: 'star' }
  | { readonly kind: 'anyRun' }
  | { readonly kind: 'dirsOptional' };

const slash = 0x2f;

function testChar(test: CharTest, codePoint: number): boolean {
  switch (test.kind) {
    case 'literal':
      return codePoint === test.codePoint;
    case 'notSlash':
      return codePoint !== slash;
    case 'any':
      return true;
    case 'class': {
      if (codePoint === slash) return false;
      let inside = false;
      for (const [low, high] of test.ranges) {
        if (codePoint >= low && codePoint <= high) {
          inside = true;
          break;
        }
      }
      return inside !== test.negated;
    }
    default:
      return assertNever(test);
  }
}

/** Appends the automaton for one alternative; it ends in a match node. */
function emit(items: readonly Item[], nodes: GlobNode[]): void {
  for (const item of items) {
    const at = nodes.length;
    switch (item.kind) {
      case 'char':
        nodes.push({ op: 'char', test: item.test, next: at + 1 });
        break;
      case 'star':
        nodes.push({ op: 'split', first: at + 1, second: at + 2 });
        nodes.push({ op: 'char', test: { kind: 'notSlash' }, next: at });
        break;
      case 'anyRun':
        nodes.push({ op: 'split', first: at + 1, second: at + 2 });
        nodes.push({ op: 'char', test: { kind: 'any' }, next: at });
        break;
      case 'dirsOptional':
        // (.*/)? — zero or more whole segments, each followed by '/'.
        nodes.push({ op: 'split', first: at + 1, second: at + 4 });
        nodes.push({ op: 'split', first: at + 2, second: at + 3 });
        nodes.push({ op: 'char', test: { kind: 'any' }, next: at + 1 });
        nodes.push({ op: 'char', test: { kind: 'literal', codePoint: slash }, next: at + 4 });
        break;
      default:
        assertNever(item);
    }
  }
  nodes.push({ op: 'match' });
}

function simulate(nodes: readonly GlobNode[], starts: readonly number[], subject: string, stepsMax: number): GlobMatch {
  const seen = new Int32Array(nodes.length).fill(-1);
  let current: number[] = [];
  let next: number[] = [];
  const stack: number[] = [];
  let steps = 0;
  let generation = 0;

  // Adds the epsilon closure of `start` to `into`; false when the step budget runs out.
  const addClosure = (start: number, into: number[]): boolean => {
    stack.push(start);
    while (stack.length > 0) {
      const index = stack.pop() as number;
      if (seen[index] === generation) continue;
      if (steps >= stepsMax) {
        stack.length = 0;
        return false;
      }
      steps += 1;
      seen[index] = generation;
      const node = nodes[index];
      if (node === undefined) continue;
      if (node.op === 'split') {
        stack.push(node.second, node.first);
      } else {
        into.push(index);
      }
    }
    return true;
  };

  for (const start of starts) {
    if (!addClosure(start, current)) return { outcome: 'stepLimitExceeded', steps };
  }
  for (const character of subject) {
    if (current.length === 0) return { outcome: 'unmatched', steps };
    const codePoint = character.codePointAt(0) ?? 0;
    generation += 1;
    next.length = 0;
    for (const index of current) {
      const node = nodes[index];
      if (node?.op !== 'char') continue;
      if (steps >= stepsMax) return { outcome: 'stepLimitExceeded', steps };
      steps += 1;
      if (testChar(node.test, codePoint) && !addClosure(node.next, next)) {
        return { outcome: 'stepLimitExceeded', steps };
      }
    }
    [current, next] = [next, current];
  }
  const matched = current.some((index) => nodes[index]?.op === 'match');
  return { outcome: matched ? 'matched' : 'unmatched', steps };
}

/**
 * Expands `{a,b}` groups into a list of alternatives, keeping escapes and classes intact for the
 * segment parser. Returns a problem string for unbalanced braces or an expansion over the limits.
 */
function expandBraces(pattern: string): readonly string[] | string {
  const work: string[] = [pattern];
  const done: string[] = [];
  let totalChars = 0;
  while (work.length > 0) {
    const current = work.pop() as string;
    const group = findGroup(current);
    if (typeof group === 'string') return group;
    if (group === null) {
      totalChars += current.length;
      if (done.length >= PolicyLimits.globAlternativesMax || totalChars > PolicyLimits.globExpandedCharsMax) {
        return `a glob expands to more than ${PolicyLimits.globAlternativesMax} alternatives or ${PolicyLimits.globExpandedCharsMax} characters`;
      }
      done.push(current);
      continue;
    }
    const prefix = current.slice(0, group.open);
    const suffix = current.slice(group.close + 1);
    for (let index = group.options.length - 1; index >= 0; index -= 1) {
      work.push(prefix + (group.options[index] ?? '') + suffix);
    }
    if (work.length + done.length > PolicyLimits.globAlternativesMax) {
      return `a glob expands to more than ${PolicyLimits.globAlternativesMax} alternatives`;
    }
  }
  return done;
}

type BraceGroup = { readonly open: number; readonly close: number; readonly options: readonly string[] };

/** The first top-level `{…}` group of `text`, null when there is none, or a problem. */
function findGroup(text: string): BraceGroup | null | string {
  let depth = 0;
  let open = -1;
  let optionStart = -1;
  const options: string[] = [];
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (character === '\\') {
      index += 1;
      continue;
    }
    if (character === '[') {
      const end = classEnd(text, index);
      if (end === -1) return 'unterminated character class ([ without ])';
      index = end;
      continue;
    }
    if (character === '{') {
      depth += 1;
      if (depth > PolicyLimits.globBraceDepthMax) return `braces nest deeper than ${PolicyLimits.globBraceDepthMax}`;
      if (depth === 1) {
        open = index;
        optionStart = index + 1;
      }
    } else if (character === '}') {
      if (depth === 0) return 'unbalanced braces (} without {)';
      depth -= 1;
      if (depth === 0) {
        options.push(text.slice(optionStart, index));
        return { open, close: index, options };
      }
    } else if (character === ',' && depth === 1) {
      options.push(text.slice(optionStart, index));
      optionStart = index + 1;
    }
  }
  return depth === 0 ? null : 'unbalanced braces ({ without })';
}

/** The index of the `]` closing the class that opens at `start`, or -1. */
function classEnd(text: string, start: number): number {
  let index = start + 1;
  if (text[index] === '!' || text[index] === '^') index += 1;
  if (text[index] === ']') index += 1;
  for (; index < text.length; index += 1) {
    const character = text[index];
    if (character === '\\') index += 1;
    else if (character === ']') return index;
  }
  return -1;
}

/** Parses one brace-free alternative into automaton items. */
function parseAlternative(alternative: string): readonly Item[] | string {
  const segments = splitSegments(alternative);
  if (typeof segments === 'string') return segments;
  const items: Item[] = [];
  const last = segments.length - 1;
  for (const [index, segment] of segments.entries()) {
    if (segment === '**') {
      if (last === 0) items.push({ kind: 'anyRun' });
      else if (index === last) items.push({ kind: 'char', test: { kind: 'any' } }, { kind: 'anyRun' });
      else items.push({ kind: 'dirsOptional' });
      continue;
    }
    const parsed = parseSegment(segment);
    if (typeof parsed === 'string') return `${parsed} in ${JSON.stringify(alternative)}`;
    items.push(...parsed);
    // A `**` after this segment keeps the separator: `a/**` matches under `a/`, never `a` itself,
    // and a middle `**` absorbs only the separator that follows it.
    if (index < last) items.push({ kind: 'char', test: { kind: 'literal', codePoint: slash } });
  }
  return items;
}

/** Splits on unescaped `/`, refusing empty segments and `/` inside a class. */
function splitSegments(alternative: string): readonly string[] | string {
  if (alternative === '') return [''];
  const segments: string[] = [];
  let start = 0;
  for (let index = 0; index < alternative.length; index += 1) {
    const character = alternative[index];
    if (character === '\\') {
      index += 1;
    } else if (character === '[') {
      const end = classEnd(alternative, index);
      if (end === -1) return 'unterminated character class ([ without ])';
      if (alternative.slice(index, end).includes('/')) return 'a character class cannot contain /';
      index = end;
    } else if (character === '/') {
      segments.push(alternative.slice(start, index));
      start = index + 1;
    }
  }
  segments.push(alternative.slice(start));
  if (segments.some((segment) => segment === '')) {
    return `${JSON.stringify(alternative)} has an empty segment (leading, trailing or double /); write dir/** for a directory`;
  }
  return segments;
}

function parseSegment(segment: string): readonly Item[] | string {
  const items: Item[] = [];
  const characters = Array.from(segment);
  for (let index = 0; index < characters.length; index += 1) {
    const character = characters[index] as string;
    switch (character) {
      case '\\': {
        const escaped = characters[index + 1];
        if (escaped === undefined) return 'a trailing \\ escapes nothing';
        items.push(literal(escaped));
        index += 1;
        break;
      }
      case '*':
        if (characters[index + 1] === '*') return '** must be a whole path segment (write a/**/b or **/*.ts)';
        items.push({ kind: 'star' });
        break;
      case '?':
        items.push({ kind: 'char', test: { kind: 'notSlash' } });
        break;
      case '[': {
        const parsed = parseClass(characters, index);
        if (typeof parsed === 'string') return parsed;
        items.push({ kind: 'char', test: parsed.test });
        index = parsed.end;
        break;
      }
      case ']':
      case '{':
      case '}':
        return `unexpected ${character} (escape it as \\${character} to match it literally)`;
      default:
        items.push(literal(character));
    }
  }
  return items;
}

function literal(character: string): Item {
  return { kind: 'char', test: { kind: 'literal', codePoint: character.codePointAt(0) ?? 0 } };
}

function parseClass(
  characters: readonly string[],
  start: number,
): { readonly test: CharTest; readonly end: number } | string {
  let index = start + 1;
  let negated = false;
  if (characters[index] === '!' || characters[index] === '^') {
    negated = true;
    index += 1;
  }
  const ranges: (readonly [number, number])[] = [];
  let first = true;
  for (; index < characters.length; index += 1) {
    let character = characters[index] as string;
    if (character === ']' && !first) return { test: { kind: 'class', ranges, negated }, end: index };
    first = false;
    if (character === '\\') {
      index += 1;
      character = characters[index] ?? '';
      if (character === '') break;
    }
    const low = character.codePointAt(0) ?? 0;
    if (characters[index + 1] === '-' && characters[index + 2] !== undefined && characters[index + 2] !== ']') {
      let highCharacter = characters[index + 2] as string;
      index += 2;
      if (highCharacter === '\\') {
        index += 1;
        highCharacter = characters[index] ?? '';
        if (highCharacter === '') break;
      }
      const high = highCharacter.codePointAt(0) ?? 0;
      if (high < low) return `character class range ${character}-${highCharacter} is reversed`;
      ranges.push([low, high]);
    } else {
      ranges.push([low, low]);
    }
  }
  return 'unterminated character class ([ without ])';
}
