import { describe, expect, test } from 'vitest';
import { meetsTarget, parseFigures } from '../src/bench/figure.js';
import { benchName, discoverBenches, runBenches } from '../src/bench/run-benches.js';
import { formatBenchTable } from '../src/bench/table.js';
import { repoRoot } from '../src/repo-root.js';
import { join } from 'node:path';

const fixtureRoot = join(repoRoot, 'xtask/test/fixtures/bench-root');

describe('bench runner', () => {
  test('discovers *.bench.ts in kernel, protocol, every sidecar and xtask', () => {
    expect(discoverBenches(fixtureRoot)).toEqual([
      'kernel/bench/figures.bench.ts',
      'sidecars/alpha/bench/broken.bench.ts',
      'xtask/bench/malformed.bench.ts',
    ]);
    expect(discoverBenches(repoRoot)).toContain('xtask/bench/bundle.bench.ts');
  });

  test('runs every bench, keeps the figures of good ones and the error of each failing one', async () => {
    const results = await runBenches(fixtureRoot, discoverBenches(fixtureRoot));
    expect(results).toEqual({
      rows: [
        {
          bench: 'kernel/figures',
          figure: { name: 'replay rate', value: 1200, unit: 'events/s', target: { op: '>=', value: 1000 } },
        },
        {
          bench: 'kernel/figures',
          figure: { name: 'step time', value: 0.125, unit: 'ms', target: { op: '<=', value: 0.1 } },
        },
        { bench: 'kernel/figures', figure: { name: 'heap', value: 12.5, unit: 'MiB' } },
      ],
      failures: [
        { bench: 'sidecars/alpha/broken', message: 'sidecar alpha did not start' },
        {
          bench: 'xtask/malformed',
          message: 'bench figure 0 is not a BenchFigure ({"name":"no value","unit":"ms"}); fix the bench.',
        },
      ],
    });
    expect(formatBenchTable(results.rows)).toBe(
      [
        'bench           name         value  unit      target   met',
        '--------------  -----------  -----  --------  -------  ---',
        'kernel/figures  replay rate   1200  events/s  >= 1000  yes',
        'kernel/figures  step time     0.13  ms        <= 0.1   NO',
        'kernel/figures  heap         12.50  MiB       -        -',
      ].join('\n'),
    );
  });

  test('a target is met on its boundary, in either direction', () => {
    const figure = { name: 'x', value: 5, unit: 'ms' };
    expect([
      meetsTarget(figure),
      meetsTarget({ ...figure, target: { op: '<=', value: 5 } }),
      meetsTarget({ ...figure, target: { op: '>=', value: 5 } }),
      meetsTarget({ ...figure, target: { op: '>=', value: 5.01 } }),
    ]).toEqual([undefined, true, true, false]);
  });

  test('figures are validated at the boundary', () => {
    expect(() => parseFigures({ name: 'x' })).toThrow(
      'bench did not return an array of figures; return BenchFigure[].',
    );
    expect(() => parseFigures([{ name: 'x', value: Number.NaN, unit: 'ms' }])).toThrow(
      'bench figure 0 is not a BenchFigure ({"name":"x","value":null,"unit":"ms"}); fix the bench.',
    );
    expect(() => parseFigures([{ name: 'x', value: 1, unit: 'ms', target: { op: '<', value: 1 } }])).toThrow(
      /^bench figure 0 is not a BenchFigure/,
    );
    expect(benchName('sidecars/net/bench/complete.bench.ts')).toBe('sidecars/net/complete');
  });
});
