/**
 * The CrustCore conformance kit: runs any sidecar command as the kernel would and checks it
 * against the protocol's fixtures and scenarios. See `README.md` in this folder.
 */
export { defaultConformanceLimits } from './conformance-limits.js';
export type { ConformanceLimits } from './conformance-limits.js';
export { parseExpectedFailures, readExpectedFailures } from './expected-failures.js';
export type { ExpectedFailures } from './expected-failures.js';
export { HelperProcess, helperEnvironment } from './helper-process.js';
export type { HelperCommand, HelperExit } from './helper-process.js';
export { countResults, formatReport } from './report.js';
export type { ConformanceReport, ScenarioResult, ScenarioStatus } from './report.js';
export { defaultFixturesRoot, runConformance, scenariosFor } from './run-conformance.js';
export type { ConformanceOptions } from './run-conformance.js';
export { sidecarKinds } from './sidecar-kinds.js';
export type { SidecarKind } from './sidecar-kinds.js';
