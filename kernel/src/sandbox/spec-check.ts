/**
 * Validates a `SandboxSpec` at the module boundary. A spec that fails here is a caller bug, so
 * the check throws a one-line `TypeError` naming the field; it never returns a half-valid spec.
 */
import { isAbsolute, normalize } from 'node:path';
import { assertNever } from '../core/assert.js';
import { Limits } from './limits.js';
import type { SandboxMount, SandboxSpec } from './types.js';

/** Targets the sandbox itself owns; a caller mount may not sit on or below them. */
const reservedTargets: readonly string[] = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc',
  '/proc',
  '/dev',
];

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throws a TypeError naming the first invalid field of `spec`. */
export function checkSpec(spec: SandboxSpec): void {
  if (spec.backend !== 'bwrap' && spec.backend !== 'gvisor') fail('backend', `unknown backend ${String(spec.backend)}`);
  if (spec.backendPath !== undefined) checkText('backendPath', spec.backendPath);
  if (spec.argv.length === 0 || spec.argv.length > Limits.argvEntriesMax) fail('argv', 'must hold 1 to 4096 entries');
  spec.argv.forEach((arg, index) => checkText(`argv[${index}]`, arg));
  if ((spec.argv[0] ?? '') === '') fail('argv[0]', 'is empty');
  checkAbsolute('cwd', spec.cwd);
  const envEntries = Object.entries(spec.env);
  if (envEntries.length > Limits.envEntriesMax) fail('env', `more than ${Limits.envEntriesMax} entries`);
  for (const [name, value] of envEntries) {
    if (!envName.test(name)) fail(`env.${name}`, 'is not a valid variable name');
    checkText(`env.${name}`, value);
  }
  const home = spec.env['HOME'];
  if (home !== undefined) {
    checkAbsolute('env.HOME', home);
    checkTarget('env.HOME', home);
  }
  if (typeof spec.network !== 'boolean') fail('network', 'must be a boolean');
  checkInteger('timeoutMs', spec.timeoutMs, 1, Limits.timeoutMsMax);
  checkInteger('outputBytesMax', spec.outputBytesMax, 2, Limits.outputBytesMaxMax);
  if (spec.outputBytesStop !== undefined) {
    checkInteger('outputBytesStop', spec.outputBytesStop, 1, Number.MAX_SAFE_INTEGER);
  }
  checkInteger('limits.processesMax', spec.limits.processesMax, 1, 1_000_000);
  checkInteger('limits.fileBytesMax', spec.limits.fileBytesMax, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('limits.addressSpaceBytesMax', spec.limits.addressSpaceBytesMax, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('limits.cpuSeconds', spec.limits.cpuSeconds, 1, 1_000_000_000);
  if (spec.limits.tmpfsBytesMax !== undefined) {
    checkInteger('limits.tmpfsBytesMax', spec.limits.tmpfsBytesMax, 4096, Number.MAX_SAFE_INTEGER);
  }
  if (spec.mounts.length > Limits.mountsMax) fail('mounts', `more than ${Limits.mountsMax} entries`);
  spec.mounts.forEach((mount, index) => checkMount(`mounts[${index}]`, mount));
}

function checkMount(field: string, mount: SandboxMount): void {
  checkAbsolute(`${field}.target`, mount.target);
  checkTarget(`${field}.target`, mount.target);
  switch (mount.kind) {
    case 'bindReadOnly':
    case 'bindWritable':
      checkSource(`${field}.source`, mount.source);
      return;
    case 'overlay':
      if (mount.lowers.length === 0) fail(`${field}.lowers`, 'needs at least one layer');
      mount.lowers.forEach((lower, index) => checkOverlayPath(`${field}.lowers[${index}]`, lower));
      checkOverlayPath(`${field}.upper`, mount.upper);
      checkOverlayPath(`${field}.work`, mount.work);
      if (mount.lowersWrittenByKernel !== undefined && typeof mount.lowersWrittenByKernel !== 'boolean') {
        fail(`${field}.lowersWrittenByKernel`, 'must be a boolean');
      }
      return;
    case 'tmpfs':
      return;
    default:
      assertNever(mount);
  }
}

function checkTarget(field: string, target: string): void {
  if (target === '/' || target === '/tmp') fail(field, `may not be ${target}`);
  for (const reserved of reservedTargets) {
    if (target === reserved || target.startsWith(`${reserved}/`)) {
      fail(field, `${target} is under ${reserved}, which the sandbox provides itself`);
    }
  }
}

function checkSource(field: string, path: string): void {
  checkAbsolute(field, path);
  if (path === '/') fail(field, 'may not be / (it would expose the whole host)');
}

/** overlayfs splits its options on `,` and `:`, and treats `\` as an escape. */
function checkOverlayPath(field: string, path: string): void {
  checkSource(field, path);
  if (/[,:\\\n]/.test(path)) fail(field, 'contains , : \\ or a newline, which overlayfs options cannot carry');
}

function checkAbsolute(field: string, path: string): void {
  checkText(field, path);
  if (!isAbsolute(path) || normalize(path) !== path || (path.length > 1 && path.endsWith('/'))) {
    fail(field, `${JSON.stringify(path)} is not an absolute, normalized path`);
  }
}

function checkText(field: string, value: string): void {
  if (typeof value !== 'string') fail(field, 'must be a string');
  if (value.includes('\0')) fail(field, 'contains a NUL byte');
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    fail(field, `${value} is not an integer in [${min}, ${max}]`);
}

function fail(field: string, reason: string): never {
  throw new TypeError(`sandbox spec: ${field} ${reason}; fix the caller.`);
}
