/**
 * The kernel's one glob matcher (rules files, protected paths, `--allow-protected`): documented
 * semantics on fixed cases, refusal of malformed patterns, and properties — it agrees with an
 * independent regular-expression reference on small generated patterns, with simple equivalences
 * (`**` + `/`, literals, braces), and it never takes more steps than it is given.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Glob, PolicyLimits } from '../../src/policy/index.js';
import type { GlobMatch } from '../../src/policy/index.js';

function match(pattern: string, subject: string): GlobMatch['outcome'] {
  const compiled = Glob.compile(pattern);
  if (!compiled.ok) throw new Error(`test pattern ${pattern} did not compile: ${compiled.reason}`);
  return compiled.glob.match(subject).outcome;
}

describe('glob semantics', () => {
  const cases: readonly (readonly [string, string, 'matched' | 'unmatched'])[] = [
    ['*.ts', 'a.ts', 'matched'],
    ['*.ts', 'src/a.ts', 'unmatched'],
    ['*', '.env', 'matched'],
    ['?', 'a', 'matched'],
    ['?', '/', 'unmatched'],
    ['**', 'a/b/c', 'matched'],
    ['**/b', 'b', 'matched'],
    ['**/b', 'x/y/b', 'matched'],
    ['**/b', 'xb', 'unmatched'],
    ['a/**/b', 'a/b', 'matched'],
    ['a/**/b', 'a/x/y/b', 'matched'],
    ['a/**/b', 'ab', 'unmatched'],
    ['a/**', 'a', 'unmatched'],
    ['a/**', 'a/x', 'matched'],
    ['a/**', 'a/x/y', 'matched'],
    ['.github/**', '.github/workflows/ci.yml', 'matched'],
    ['{src,lib}/**/*.ts', 'lib/x/y.ts', 'matched'],
    ['{src,lib}/**/*.ts', 'test/x.ts', 'unmatched'],
    ['src/{a,{b,c}d}.ts', 'src/cd.ts', 'matched'],
    ['src/{,lib/}x.ts', 'src/x.ts', 'matched'],
    ['src/{,lib/}x.ts', 'src/lib/x.ts', 'matched'],
    ['[a-c]x', 'bx', 'matched'],
    ['[a-c]x', 'dx', 'unmatched'],
    ['[!a]', 'a', 'unmatched'],
    ['[^a]', 'b', 'matched'],
    ['[!a]', '/', 'unmatched'],
    ['[]]', ']', 'matched'],
    ['a\\*b', 'a*b', 'matched'],
    ['a\\*b', 'axb', 'unmatched'],
    ['\\{a\\}', '{a}', 'matched'],
    ['é?', 'éü', 'matched'],
    ['crustcore/*', 'crustcore/fix-1', 'matched'],
    ['crustcore/*', 'crustcore/a/b', 'unmatched'],
    ['**/*.test.*', 'a.test.ts', 'matched'],
    ['**/*.test.*', 'src/deep/a.test.ts', 'matched'],
    ['src/*.ts', 'src/a.ts', 'matched'],
    ['src/*.ts', 'src/x/a.ts', 'unmatched'],
    ['a?c', 'a/c', 'unmatched'],
    ['{a,b/{c,d}}.txt', 'b/d.txt', 'matched'],
    ['{a,b/{c,d}}.txt', 'b/e.txt', 'unmatched'],
    ['**/tests/**', 'tests/x.py', 'matched'],
    ['**', '', 'matched'],
    ['*.TS', 'a.ts', 'unmatched'],
    ['[id]', '[id]', 'unmatched'],
    ['\\[id\\]', '[id]', 'matched'],
    ['?', '\u{1F600}', 'matched'],
  ];
  for (const [pattern, subject, expected] of cases) {
    it(`${pattern} against ${subject} is ${expected}`, () => {
      expect(match(pattern, subject)).toBe(expected);
    });
  }

  it('refuses malformed patterns with a reason', () => {
    const reasons = ['', 'a**', '/a', 'a/', 'a//b', '{a', 'a}', '[a', '[b-a]', 'x\\', '[a/b]', 'a]'].map((pattern) =>
      Glob.compile(pattern),
    );
    expect(reasons).toEqual([
      { ok: false, reason: 'a glob must be a non-empty string' },
      { ok: false, reason: '** must be a whole path segment (write a/**/b or **/*.ts) in "a**"' },
      {
        ok: false,
        reason: '"/a" has an empty segment (leading, trailing or double /); write dir/** for a directory',
      },
      {
        ok: false,
        reason: '"a/" has an empty segment (leading, trailing or double /); write dir/** for a directory',
      },
      {
        ok: false,
        reason: '"a//b" has an empty segment (leading, trailing or double /); write dir/** for a directory',
      },
      { ok: false, reason: 'unbalanced braces ({ without })' },
      { ok: false, reason: 'unbalanced braces (} without {)' },
      { ok: false, reason: 'unterminated character class ([ without ])' },
      { ok: false, reason: 'character class range b-a is reversed in "[b-a]"' },
      { ok: false, reason: 'a trailing \\ escapes nothing in "x\\\\"' },
      { ok: false, reason: 'a character class cannot contain /' },
      { ok: false, reason: 'unexpected ] (escape it as \\] to match it literally) in "a]"' },
    ]);
  });

  it('refuses patterns over the length, alternative and nesting limits', () => {
    expect(Glob.compile('a'.repeat(PolicyLimits.globPatternCharsMax + 1))).toEqual({
      ok: false,
      reason: `a glob has at most ${PolicyLimits.globPatternCharsMax} characters`,
    });
    expect(Glob.compile('{a,b}'.repeat(9))).toEqual({
      ok: false,
      reason: `a glob expands to more than ${PolicyLimits.globAlternativesMax} alternatives`,
    });
    expect(Glob.compile(`${'{'.repeat(9)}a${'}'.repeat(9)}`)).toEqual({
      ok: false,
      reason: `braces nest deeper than ${PolicyLimits.globBraceDepthMax}`,
    });
  });

  it('reports a subject over the length limit instead of answering', () => {
    const compiled = Glob.compile('**');
    if (!compiled.ok) throw new Error(compiled.reason);
    expect(compiled.glob.match('a'.repeat(PolicyLimits.globSubjectCharsMax + 1))).toEqual({
      outcome: 'subjectTooLong',
      steps: 0,
    });
  });

  it('stops a pathological pattern at the step limit instead of blowing up', () => {
    const compiled = Glob.compile(`${'*a'.repeat(40)}*b`);
    if (!compiled.ok) throw new Error(compiled.reason);
    const result = compiled.glob.match('a'.repeat(4000), 10_000);
    expect(result).toEqual({ outcome: 'stepLimitExceeded', steps: 10_000 });
    // With the default budget the automaton answers: its work is bounded by pattern × subject.
    const answered = compiled.glob.match('a'.repeat(4000));
    expect(answered.outcome).toBe('unmatched');
    expect(answered.steps).toBeLessThanOrEqual(PolicyLimits.globStepsMax);
    // Past the default budget it stops at the limit and says so: callers fail closed on that.
    const heavy = Glob.compile(`${'*a'.repeat(200)}{${'x,'.repeat(20)}y}`);
    if (!heavy.ok) throw new Error(heavy.reason);
    expect(heavy.glob.match('a'.repeat(4000))).toEqual({
      outcome: 'stepLimitExceeded',
      steps: PolicyLimits.globStepsMax,
    });
  });
});

type Atom =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'star' }
  | { readonly kind: 'question' }
  | { readonly kind: 'class'; readonly chars: string; readonly negated: boolean }
  | { readonly kind: 'braces'; readonly options: readonly string[] };
type Segment = { readonly kind: 'globstar' } | { readonly kind: 'atoms'; readonly atoms: readonly Atom[] };

const atomArbitrary: fc.Arbitrary<Atom> = fc.oneof(
  fc.constantFrom('a', 'b', '.').map((text): Atom => ({ kind: 'literal', text })),
  fc.constant<Atom>({ kind: 'star' }),
  fc.constant<Atom>({ kind: 'question' }),
  fc
    .record({ chars: fc.constantFrom('a', 'ab', 'b.'), negated: fc.boolean() })
    .map(({ chars, negated }): Atom => ({ kind: 'class', chars, negated })),
  fc
    .array(fc.constantFrom('a', 'b', 'ab', 'a.'), { minLength: 1, maxLength: 3 })
    .map((options): Atom => ({ kind: 'braces', options })),
);

// Adjacent stars would spell `**` inside a segment, which the glob refuses by design.
const segmentArbitrary: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Segment>({ kind: 'globstar' }) },
  {
    weight: 4,
    arbitrary: fc
      .array(atomArbitrary, { minLength: 1, maxLength: 4 })
      .filter((atoms) => atoms.every((atom, index) => atom.kind !== 'star' || atoms[index + 1]?.kind !== 'star'))
      .map((atoms): Segment => ({ kind: 'atoms', atoms })),
  },
);

function atomGlob(atom: Atom): string {
  switch (atom.kind) {
    case 'literal':
      return atom.text;
    case 'star':
      return '*';
    case 'question':
      return '?';
    case 'class':
      return `[${atom.negated ? '!' : ''}${atom.chars}]`;
    case 'braces':
      return `{${atom.options.join(',')}}`;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function atomRegex(atom: Atom): string {
  switch (atom.kind) {
    case 'literal':
      return escapeRegex(atom.text);
    case 'star':
      return '[^/]*';
    case 'question':
      return '[^/]';
    case 'class':
      return atom.negated ? `[^${escapeRegex(atom.chars)}/]` : `[${escapeRegex(atom.chars)}]`;
    case 'braces':
      return `(?:${atom.options.map(escapeRegex).join('|')})`;
  }
}

/** The reference: the documented semantics written as a regular expression, segment by segment. */
function referenceRegex(segments: readonly Segment[]): RegExp {
  const last = segments.length - 1;
  const parts = segments.map((segment, index) => {
    if (segment.kind === 'globstar') {
      if (last === 0) return '[\\s\\S]*';
      if (index === last) return '[\\s\\S]+';
      return '(?:[\\s\\S]*/)?';
    }
    return segment.atoms.map(atomRegex).join('') + (index < last ? '/' : '');
  });
  return new RegExp(`^(?:${parts.join('')})$`);
}

const subjectArbitrary = fc
  .array(fc.constantFrom('a', 'b', '.', '/'), { maxLength: 10 })
  .map((characters) => characters.join(''));

describe('glob properties', () => {
  it('agrees with the regular-expression reference on small patterns', () => {
    fc.assert(
      fc.property(fc.array(segmentArbitrary, { minLength: 1, maxLength: 4 }), subjectArbitrary, (segments, subject) => {
        // Patterns that expand past the alternatives limit are refused by design; the unit tests cover that.
        const alternatives = segments
          .flatMap((segment) => (segment.kind === 'atoms' ? segment.atoms : []))
          .reduce((product, atom) => product * (atom.kind === 'braces' ? atom.options.length : 1), 1);
        fc.pre(alternatives <= PolicyLimits.globAlternativesMax);
        const pattern = segments
          .map((segment) => (segment.kind === 'globstar' ? '**' : segment.atoms.map(atomGlob).join('')))
          .join('/');
        const compiled = Glob.compile(pattern);
        expect(compiled.ok).toBe(true);
        if (!compiled.ok) return;
        const expected = referenceRegex(segments).test(subject) ? 'matched' : 'unmatched';
        expect(compiled.glob.match(subject).outcome).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  const simpleSegment = fc.stringMatching(/^[a-c?]{0,3}(?:\*[a-c?]{1,3}){0,2}\*?$/u).filter((text) => text !== '');
  const simplePattern = fc
    .array(fc.oneof(simpleSegment, fc.constant('**')), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join('/'));
  const literalPath = fc
    .array(fc.stringMatching(/^[a-c]{1,4}$/u), { minLength: 1, maxLength: 8 })
    .map((parts) => parts.join('/'));

  it('agrees with simple equivalences: literals, **, braces and a leading **/', () => {
    fc.assert(
      fc.property(literalPath, (literal) => {
        expect([
          match(literal, literal),
          match('**', literal),
          match('*', literal),
          match(`{${literal},zzz}`, literal),
        ]).toEqual(['matched', 'matched', literal.includes('/') ? 'unmatched' : 'matched', 'matched']);
      }),
    );
    fc.assert(
      fc.property(simplePattern, literalPath, (pattern, subject) => {
        const suffixes = subject.split('/').map((_, index, parts) => parts.slice(index).join('/'));
        const expected = suffixes.some((suffix) => match(pattern, suffix) === 'matched') ? 'matched' : 'unmatched';
        expect(match(`**/${pattern}`, subject)).toBe(expected);
      }),
    );
  });

  it('never takes more steps than it is given, and a budget never changes an answer', () => {
    const patternArbitrary = fc
      .array(fc.constantFrom('a', 'b', '*', '?', '/', '**', '{a,b}', '[ab]', '{*,a/**}'), { maxLength: 12 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(
        patternArbitrary,
        fc.array(fc.constantFrom('a', 'b', '/'), { maxLength: 60 }).map((characters) => characters.join('')),
        fc.integer({ min: 0, max: 2000 }),
        (pattern, subject, stepsMax) => {
          const compiled = Glob.compile(pattern);
          if (!compiled.ok) return;
          const limited = compiled.glob.match(subject, stepsMax);
          expect(limited.steps).toBeLessThanOrEqual(stepsMax);
          const unlimited = compiled.glob.match(subject);
          if (limited.outcome !== 'stepLimitExceeded') expect(limited).toEqual(unlimited);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
