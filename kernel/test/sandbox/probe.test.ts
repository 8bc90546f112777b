/**
 * The enforcement probe and backend selection: real bwrap passes; a fake "bwrap" that runs the
 * command without isolation fails and `runSandboxed` then refuses; a missing binary (bwrap or
 * gVisor's runsc) is `backendMissing`. Each fake lives in a fresh path, so the per-process cache
 * cannot hide a result.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeBackend, runSandboxed } from '../../src/sandbox/index.js';
import { requireBwrap, shellSpec, tempDir } from './helpers.js';

describe('probeBackend', () => {
  it('accepts the real bubblewrap and reports its version', async () => {
    requireBwrap();
    expect(await probeBackend('bwrap')).toEqual({
      ok: true,
      backend: 'bwrap',
      version: expect.stringMatching(/^bubblewrap \d+\.\d+/),
    });
  });

  it('caches per backend and binary', async () => {
    expect(probeBackend('bwrap')).toBe(probeBackend('bwrap'));
  });

  it('refuses a fake bwrap that runs the command without isolation, and runSandboxed refuses too', async () => {
    const fake = join(tempDir(), 'bwrap');
    writeFileSync(fake, '#!/bin/sh\nwhile [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n');
    chmodSync(fake, 0o755);
    const probe = await probeBackend('bwrap', fake);
    expect(probe.ok).toBe(false);
    expect(!probe.ok && probe.code).toBe('backendNotEnforcing');
    for (const reason of [
      'shares the host network namespace',
      'shares the host PID namespace',
      'leaks the host environment',
      'shows a host file outside its mounts',
      'can write a host file outside its mounts',
    ]) {
      expect(!probe.ok && probe.detail).toContain(reason);
    }
    const outcome = await runSandboxed(shellSpec('echo ran', { backendPath: fake }));
    expect(outcome).toEqual({
      ok: false,
      error: { code: 'backendNotEnforcing', detail: !probe.ok ? probe.detail : '' },
    });
  });

  it('refuses a missing bwrap binary', async () => {
    const missing = join(tempDir(), 'no-such-bwrap');
    expect(await probeBackend('bwrap', missing)).toEqual({
      ok: false,
      code: 'backendMissing',
      detail: `sandbox backend bwrap not found at ${missing}; install it (bubblewrap or gVisor runsc) or choose another backend.`,
    });
    const outcome = await runSandboxed(shellSpec('echo ran', { backendPath: missing }));
    expect(outcome.ok === false && outcome.error.code).toBe('backendMissing');
  });

  it('gVisor: runsc is not installed here, so the backend is missing and refused', async () => {
    const outcome = await runSandboxed(shellSpec('echo ran', { backend: 'gvisor' }));
    expect(outcome.ok === false && outcome.error.code).toBe('backendMissing');
    const probe = await probeBackend('gvisor', join(tempDir(), 'runsc'));
    expect(probe.ok === false && probe.code).toBe('backendMissing');
  });

  it('refuses a fake runsc that does not isolate', async () => {
    const fake = join(tempDir(), 'runsc');
    writeFileSync(fake, '#!/bin/sh\nwhile [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n');
    chmodSync(fake, 0o755);
    const probe = await probeBackend('gvisor', fake);
    expect(probe.ok === false && probe.code).toBe('backendNotEnforcing');
  });
});
