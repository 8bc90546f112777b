/** How one scenario ended once expected failures are applied. */
export type ScenarioStatus = 'pass' | 'fail' | 'expectedFailure' | 'stale';

/** One row of the report. */
export interface ScenarioResult {
  readonly name: string;
  readonly status: ScenarioStatus;
  /** What happened (on a pass, a short fact; on a failure, what was expected and what came). */
  readonly detail: string;
  readonly durationMs: number;
}

/** The whole run. `ok` is true only when nothing failed unexpectedly and no expected failure is stale. */
export interface ConformanceReport {
  readonly sidecar: string;
  readonly command: readonly string[];
  readonly ok: boolean;
  readonly results: readonly ScenarioResult[];
}

const labels: Readonly<Record<ScenarioStatus, string>> = {
  pass: 'PASS',
  fail: 'FAIL',
  expectedFailure: 'XFAIL',
  stale: 'STALE',
};

/** Counts per status. */
export function countResults(results: readonly ScenarioResult[]): Readonly<Record<ScenarioStatus, number>> {
  const counts: Record<ScenarioStatus, number> = { pass: 0, fail: 0, expectedFailure: 0, stale: 0 };
  for (const result of results) counts[result.status]++;
  return counts;
}

/** The report as a plain-text table followed by a one-line verdict. */
export function formatReport(report: ConformanceReport): string {
  const width = Math.min(72, Math.max(8, ...report.results.map((result) => result.name.length)));
  const lines = [`crustcore-conformance: ${report.sidecar} sidecar: ${report.command.join(' ')}`, ''];
  lines.push(`${'STATUS'.padEnd(6)}  ${'SCENARIO'.padEnd(width)}  DETAIL`);
  for (const result of report.results) {
    lines.push(`${labels[result.status].padEnd(6)}  ${result.name.padEnd(width)}  ${result.detail}`);
  }
  const counts = countResults(report.results);
  lines.push(
    '',
    `${counts.pass} passed, ${counts.fail} failed, ${counts.expectedFailure} expected failures, ${counts.stale} stale expected failures: ${report.ok ? 'CONFORMANT' : 'NOT CONFORMANT'}`,
  );
  return lines.join('\n');
}
