import type { Reporter, TestModule } from 'vitest/node';

/** The counts behind the closing line. */
export interface TestCounts {
  readonly passed: number;
  readonly failed: number;
}

/** The shape of a finished module the counter reads, so counting can be tested without vitest internals. */
export interface FinishedModule {
  /** State of each test in the module. */
  readonly testStates: readonly string[];
  /** Whether the module itself failed (for example it could not be imported). */
  readonly moduleFailed: boolean;
}

/**
 * Counts passed and failed tests. A module that failed without any failing test (an import error,
 * a failing hook) and every unhandled error each count as one failure, so a broken run can never
 * print `0 failed`.
 */
export function countResults(modules: readonly FinishedModule[], unhandledErrors: number): TestCounts {
  let passed = 0;
  let failed = unhandledErrors;
  for (const { testStates, moduleFailed } of modules) {
    const failedTests = testStates.filter((state) => state === 'failed').length;
    passed += testStates.filter((state) => state === 'passed').length;
    failed += failedTests === 0 && moduleFailed ? 1 : failedTests;
  }
  return { passed, failed };
}

/** The closing line, alone on its line: `12 passed, 0 failed`. */
export function formatCounts(counts: TestCounts): string {
  return `${counts.passed} passed, ${counts.failed} failed`;
}

/** A vitest reporter that prints only the closing line, after the default reporter's output. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[], unhandledErrors: readonly unknown[]): void {
    const modules = testModules.map((module) => ({
      testStates: [...module.children.allTests()].map((test) => test.result().state),
      moduleFailed: module.state() === 'failed',
    }));
    process.stdout.write(`\n${formatCounts(countResults(modules, unhandledErrors.length))}\n`);
  }
}
