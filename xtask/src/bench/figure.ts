/** One measured figure a benchmark reports. Figures are printed beside their target, never asserted. */
export type BenchFigure = {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: { readonly op: '<=' | '>='; readonly value: number };
};

/** What every `*.bench.ts` file exports as its default. */
export type Bench = () => Promise<readonly BenchFigure[]>;

/** Whether a figure meets its target; undefined when it has none. */
export function meetsTarget(figure: BenchFigure): boolean | undefined {
  if (figure.target === undefined) return undefined;
  return figure.target.op === '<=' ? figure.value <= figure.target.value : figure.value >= figure.target.value;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Validates what a bench returned; throws a one-line error naming the first bad figure. */
export function parseFigures(raw: unknown): readonly BenchFigure[] {
  if (!Array.isArray(raw)) throw new Error('bench did not return an array of figures; return BenchFigure[].');
  return raw.map((item: unknown, index) => {
    const target = isRecord(item) ? item['target'] : undefined;
    const validTarget =
      target === undefined ||
      (isRecord(target) && (target['op'] === '<=' || target['op'] === '>=') && isFiniteNumber(target['value']));
    if (
      !isRecord(item) ||
      typeof item['name'] !== 'string' ||
      !isFiniteNumber(item['value']) ||
      typeof item['unit'] !== 'string' ||
      !validTarget
    ) {
      throw new Error(`bench figure ${index} is not a BenchFigure (${JSON.stringify(item)}); fix the bench.`);
    }
    return item as BenchFigure;
  });
}
