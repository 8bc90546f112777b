import { meetsTarget, type BenchFigure } from './figure.js';

/** One row of the bench table: the figure and the bench file it came from. */
export interface BenchRow {
  readonly bench: string;
  readonly figure: BenchFigure;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** Renders rows as an aligned text table: bench, name, value, unit, target, met. */
export function formatBenchTable(rows: readonly BenchRow[]): string {
  const header = ['bench', 'name', 'value', 'unit', 'target', 'met'];
  const cells = rows.map(({ bench, figure }) => {
    const met = meetsTarget(figure);
    return [
      bench,
      figure.name,
      formatValue(figure.value),
      figure.unit,
      figure.target === undefined ? '-' : `${figure.target.op} ${figure.target.value}`,
      met === undefined ? '-' : met ? 'yes' : 'NO',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]?.length ?? 0)));
  // Numbers read best right-aligned, text left-aligned.
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => (column === 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}
