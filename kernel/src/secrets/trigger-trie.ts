type TrieNode = {
  readonly next: Map<number, TrieNode>;
  /** Characters a match starting with the trigger ending here may inspect; 0 when no trigger ends here. */
  inspectChars: number;
};

const newNode = (): TrieNode => ({ next: new Map(), inspectChars: 0 });

/** ASCII case folding; enough because every case-insensitive trigger is ASCII. */
const fold = (code: number): number => (code >= 65 && code <= 90 ? code + 32 : code);

/**
 * The literal starts of every pattern of a redaction stage, with how far a match may reach.
 *
 * A stream may emit text only where no pattern can still match differently once more text arrives.
 * Every pattern of a stage begins with one of its triggers, so a position is undecided only when the
 * text from it to the end is a proper prefix of a trigger, or a trigger starts there and the
 * pattern's reach runs past the end of the buffered text.
 */
export class TriggerTrie {
  readonly #root = newNode();
  readonly #foldCase: boolean;
  readonly #firstChars = new Uint8Array(65_536);
  #reachMax = 0;
  #triggerCharsMax = 0;
  readonly #triggers = new Set<string>();
  #finderRegex: RegExp | undefined;

  /** With `foldCase`, ASCII letters match either case (a superset of what the patterns match). */
  constructor(foldCase: boolean) {
    this.#foldCase = foldCase;
  }

  /** The longest reach of any trigger; positions further from the end are always decided. */
  get reachMax(): number {
    return this.#reachMax;
  }

  /** Adds a trigger whose match may inspect up to `inspectChars` characters from its start. */
  add(trigger: string, inspectChars: number): void {
    if (trigger.length === 0) throw new Error('a redaction trigger must not be empty');
    this.#triggers.add(trigger);
    this.#finderRegex = undefined;
    this.#triggerCharsMax = Math.max(this.#triggerCharsMax, trigger.length);
    let node = this.#root;
    for (let index = 0; index < trigger.length; index++) {
      const code = this.#code(trigger.charCodeAt(index));
      if (index === 0) this.#firstChars[code] = 1;
      let child = node.next.get(code);
      if (child === undefined) {
        child = newNode();
        node.next.set(code, child);
      }
      node = child;
    }
    const reach = Math.max(inspectChars, trigger.length);
    node.inspectChars = Math.max(node.inspectChars, reach);
    this.#reachMax = Math.max(this.#reachMax, reach);
  }

  /** The first position at or after `from` whose match decision could change with more text, else `text.length`. */
  earliestUndecided(text: string, from: number): number {
    const length = text.length;
    const windowStart = Math.max(from, length - this.#reachMax);
    // Where the longest trigger still fits, a regex finds trigger starts far faster than a loop.
    const fullStart = Math.max(windowStart, length - this.#triggerCharsMax + 1);
    const finder = this.#finder();
    finder.lastIndex = windowStart;
    for (let hit = finder.exec(text); hit !== null && hit.index < fullStart; hit = finder.exec(text)) {
      if (this.#undecidedAt(text, hit.index)) return hit.index;
      finder.lastIndex = hit.index + 1;
    }
    for (let start = fullStart; start < length; start++) {
      if (this.#firstChars[this.#code(text.charCodeAt(start))] === 1 && this.#undecidedAt(text, start)) return start;
    }
    return length;
  }

  #undecidedAt(text: string, start: number): boolean {
    const length = text.length;
    let node = this.#root;
    let index = start;
    for (;;) {
      if (node.inspectChars > 0 && start + node.inspectChars > length) return true;
      if (index === length) return node.next.size > 0;
      const child = node.next.get(this.#code(text.charCodeAt(index)));
      if (child === undefined) return false;
      node = child;
      index++;
    }
  }

  #finder(): RegExp {
    if (this.#finderRegex === undefined) {
      const escaped = [...this.#triggers]
        .sort((a, b) => b.length - a.length)
        .map((trigger) => trigger.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'));
      this.#finderRegex = new RegExp(escaped.join('|'), this.#foldCase ? 'gi' : 'g');
    }
    return this.#finderRegex;
  }

  #code(code: number): number {
    return this.#foldCase ? fold(code) : code;
  }
}
