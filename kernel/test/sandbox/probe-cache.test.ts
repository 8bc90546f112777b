/**
 * The probe's on-disk cache: a success is stored for exactly the binaries and host kernel it was
 * proved on and reused by a later call (another process in practice; here another path to the
 * same binary, so the per-process cache cannot answer); a failure is never stored; a changed
 * binary, a corrupt entry, another kernel release or an expired entry means the probe runs again.
 * A fake `bwrap` that does not isolate shows which happened: a cache hit answers ok, a real
 * probe of the fake answers backendNotEnforcing.
 */
import { chmodSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTool } from '../../src/sandbox/backend.js';
import { Limits } from '../../src/sandbox/limits.js';
import {
  loadProbeSuccess,
  probeCachePath,
  probeIdentity,
  storeProbeSuccess,
  type ProbeIdentity,
} from '../../src/sandbox/probe-cache.js';
import { probeBackend } from '../../src/sandbox/probe.js';
import { requireBwrap, tempDir } from './helpers.js';

const fakeScript = '#!/bin/sh\n# v1\nwhile [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n';

/** A fake bwrap that runs the command unisolated, and a factory of fresh paths (symlinks) to it. */
function fakeBwrap(): { readonly binary: string; readonly freshPath: () => string } {
  const dir = tempDir();
  const binary = join(dir, 'bwrap');
  writeFileSync(binary, fakeScript);
  chmodSync(binary, 0o755);
  let count = 0;
  return {
    binary,
    freshPath: () => {
      count += 1;
      const link = join(dir, `path-${count}`);
      symlinkSync(binary, link);
      return link;
    },
  };
}

function identityOf(binary: string): ProbeIdentity {
  const identity = probeIdentity('bwrap', binary, findTool('prlimit'));
  if (identity === null) throw new Error(`cannot examine ${binary}`);
  return identity;
}

describe('probe cache', () => {
  it('stores a success of the real bwrap with its identity and reuses it', async () => {
    requireBwrap();
    const bwrap = findTool('bwrap');
    if (bwrap === null) throw new Error('bwrap not found');
    const cacheDir = join(tempDir(), 'state');
    const link = join(tempDir(), 'bwrap-link');
    symlinkSync(bwrap, link);
    const probe = await probeBackend('bwrap', link, { cacheDir });
    expect(probe).toEqual({ ok: true, backend: 'bwrap', version: expect.stringMatching(/^bubblewrap \d+\.\d+/) });
    const identity = identityOf(bwrap);
    const stored: unknown = JSON.parse(readFileSync(probeCachePath(cacheDir, identity), 'utf8'));
    expect(stored).toEqual({
      format: 'crustcore.probe/1',
      identity,
      probedAtMs: expect.any(Number),
      version: probe.ok ? probe.version : '',
    });
    expect(loadProbeSuccess(cacheDir, identity, Date.now())).toBe(probe.ok ? probe.version : null);
  });

  it('never stores a failure', async () => {
    const fake = fakeBwrap();
    const cacheDir = join(tempDir(), 'state');
    const probe = await probeBackend('bwrap', fake.freshPath(), { cacheDir });
    expect(probe.ok === false && probe.code).toBe('backendNotEnforcing');
    let files: string[] = [];
    try {
      files = readdirSync(cacheDir);
    } catch {
      // No directory at all: nothing was stored.
    }
    expect(files).toEqual([]);
  });

  it('a stored success is used for the same binary; a changed mtime probes again', async () => {
    const fake = fakeWithSuccess();
    expect(await probeBackend('bwrap', fake.freshPath(), { cacheDir: fake.cacheDir })).toEqual({
      ok: true,
      backend: 'bwrap',
      version: 'cached 1.0',
    });
    utimesSync(fake.binary, new Date(2_000_000_000_000), new Date(2_000_000_000_000));
    const again = await probeBackend('bwrap', fake.freshPath(), { cacheDir: fake.cacheDir });
    expect(again.ok === false && again.code).toBe('backendNotEnforcing');
  });

  it('content rewritten in place with the same size and mtime probes again', async () => {
    const fake = fakeWithSuccess();
    const before = fake.identity.binary;
    writeFileSync(fake.binary, fakeScript.replace('# v1', '# v2'));
    utimesSync(fake.binary, new Date(before.mtimeMs), new Date(before.mtimeMs));
    const after = identityOf(fake.binary).binary;
    expect([after.path, after.inode, after.sizeBytes, Math.floor(after.mtimeMs / 1000)]).toEqual([
      before.path,
      before.inode,
      before.sizeBytes,
      Math.floor(before.mtimeMs / 1000),
    ]);
    const probe = await probeBackend('bwrap', fake.freshPath(), { cacheDir: fake.cacheDir });
    expect(probe.ok === false && probe.code).toBe('backendNotEnforcing');
  });

  it('a corrupt, truncated or mistyped entry probes again', async () => {
    for (const corrupt of [
      '{not json',
      '',
      '{"format":"crustcore.probe/1"}',
      'null',
      '[]',
      JSON.stringify({ format: 'crustcore.probe/1', identity: { backend: 'bwrap' }, probedAtMs: 1, version: 'x' }),
    ]) {
      const fake = fakeWithSuccess();
      writeFileSync(probeCachePath(fake.cacheDir, fake.identity), corrupt);
      const probe = await probeBackend('bwrap', fake.freshPath(), { cacheDir: fake.cacheDir });
      expect(probe.ok === false && probe.code).toBe('backendNotEnforcing');
    }
  });

  it('another kernel release, another uid, or an entry too old (or from the future) is not used', () => {
    const fake = fakeWithSuccess();
    const now = Date.now();
    expect(loadProbeSuccess(fake.cacheDir, fake.identity, now)).toBe('cached 1.0');
    expect(loadProbeSuccess(fake.cacheDir, { ...fake.identity, kernelRelease: 'other' }, now)).toBeNull();
    expect(loadProbeSuccess(fake.cacheDir, { ...fake.identity, uid: fake.identity.uid + 1 }, now)).toBeNull();
    expect(loadProbeSuccess(fake.cacheDir, fake.identity, now + Limits.probeCacheAgeMsMax + 60_000)).toBeNull();
    expect(loadProbeSuccess(fake.cacheDir, fake.identity, now - 60_000)).toBeNull();
    const otherPrlimit = { ...fake.identity, prlimit: null };
    expect(loadProbeSuccess(fake.cacheDir, otherPrlimit, now)).toBeNull();
  });

  it('without a cache dir, a stored success is ignored (doctor proves the backend now)', async () => {
    const fake = fakeWithSuccess();
    const probe = await probeBackend('bwrap', fake.freshPath());
    expect(probe.ok === false && probe.code).toBe('backendNotEnforcing');
  });
});

/** A fake bwrap with a success planted in a fresh cache dir, as a run on that binary would have left it. */
function fakeWithSuccess(): ReturnType<typeof fakeBwrap> & { cacheDir: string; identity: ProbeIdentity } {
  const fake = fakeBwrap();
  const cacheDir = join(tempDir(), 'state');
  const identity = identityOf(fake.binary);
  storeProbeSuccess(cacheDir, identity, 'cached 1.0', Date.now());
  return { ...fake, cacheDir, identity };
}
