/**
 * The secrets boundary of one process: env secrets leave the environment at start and the
 * redactor knows every form of them; exposures reach the running task's log as name + purpose;
 * events keep their ids and lose their secrets; the output writers redact across any chunking
 * and escape hidden text; a patch that adds a secret or a token is `broken`.
 *
 * Method: real objects, in process; fast-check for the chunk-split property.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { DerivedPatch } from '../../src/attempt/index.js';
import { defaultConfig, type Config } from '../../src/host/config.js';
import { describeHidden, flagHiddenText, hiddenTextStream } from '../../src/host/hidden-text.js';
import { redactEventFields, SecretInStructuralFieldError } from '../../src/host/redact-event.js';
import {
  activeClean,
  activeSecretsBoundary,
  cleanJsonText,
  grantedEnvNames,
  installSecretsBoundary,
  openSecretsBoundary,
  type Exposure,
} from '../../src/host/secrets-boundary.js';
import { redactingWriter } from '../../src/host/secrets-io.js';
import { withSecretsBoundary } from '../../src/host/secrets-session.js';
import { encodingsOf, makeCanary } from '../../src/secrets/canary.js';
import { Secret } from '../../src/secrets/secret.js';
import { secretsInPatch, withSecretIntegrity } from '../../src/verify/gate.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function configWith(env: Record<string, string>): Config {
  return { ...defaultConfig, secrets: { ...defaultConfig.secrets, env } };
}

/** Opens and installs a boundary over `env`; removed after the test. */
function boundaryOver(env: Record<string, string | undefined>, argv: readonly string[] = [], config?: Config) {
  const boundary = openSecretsBoundary({ env, config: config ?? configWith({ canary: 'CANARY_VAR' }), argv });
  const uninstall = installSecretsBoundary(boundary);
  cleanups.push(() => {
    uninstall();
    boundary.close();
  });
  return boundary;
}

const ghToken = `ghp_${'Ab1'.repeat(12)}`;

describe('openSecretsBoundary', () => {
  it('reads mapped variables and passphrases, deletes them from the env, and redacts every encoding', () => {
    const canary = makeCanary('canary');
    const env: Record<string, string | undefined> = {
      CANARY_VAR: canary.value,
      CRUSTCORE_VAULT_PASSPHRASE: 'a passphrase of some length',
      KEEP: 'kept',
    };
    const boundary = boundaryOver(env);
    expect(env).toEqual({ KEEP: 'kept' });
    expect(boundary.knownNames).toEqual(['canary', 'vault-passphrase']);
    for (const form of encodingsOf(canary.value)) {
      expect(boundary.clean(`x ${form.text} y`)).toBe('x [REDACTED:canary] y');
    }
    expect(boundary.clean('pass: a passphrase of some length')).toBe('pass: [REDACTED:vault-passphrase]');
    expect(boundary.envSecretOf('CANARY_VAR')?.expose('test')).toBe(canary.value);
  });

  it('learns the values of variables granted with --worker-env, keeping them in the env', () => {
    const env: Record<string, string | undefined> = { GRANTED: 'granted-value-123', OTHER: 'other-value-456' };
    expect(grantedEnvNames(['run', '--worker-env', 'GRANTED', '--worker-env=X_Y', '--worker-env', 'bad name'])).toEqual(
      ['GRANTED', 'X_Y'],
    );
    const boundary = boundaryOver(env, ['run', '--worker-env', 'GRANTED']);
    expect(env['GRANTED']).toBe('granted-value-123');
    expect(boundary.clean('granted-value-123 other-value-456')).toBe('[REDACTED:worker-env.GRANTED] other-value-456');
  });

  it('replays startup exposures to each task, then records live ones, never the value', () => {
    const env: Record<string, string | undefined> = { CANARY_VAR: 'canary-value-789' };
    const boundary = boundaryOver(env);
    const seen: Exposure[] = [];
    const stop = boundary.recordExposures((exposure) => seen.push(exposure));
    new Secret('later', 'later-value').expose('a provider call');
    stop();
    new Secret('after', 'after-value').expose('not recorded');
    expect(seen).toEqual([
      { name: 'canary', purpose: 'redaction boundary' },
      { name: 'later', purpose: 'a provider call' },
    ]);
  });
});

describe('the output writers', () => {
  it('give the one-shot result for any chunking of a text with a canary, in base64 and hex too', () => {
    const canary = makeCanary('canary');
    boundaryOver({ CANARY_VAR: canary.value });
    const forms = encodingsOf(canary.value).map((form) => form.text);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...forms, 'text ', '\n', ghToken, '\u{E0041}', '\u202E'), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (parts, cuts) => {
          const text = parts.join('');
          const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
          let written = '';
          const writer = redactingWriter(
            (chunk) => (written += chunk),
            () => {
              const boundary = activeSecretsBoundary();
              if (boundary === null) throw new Error('no boundary installed');
              return boundary.redactor;
            },
          );
          let from = 0;
          for (const point of [...points, text.length]) {
            writer.write(text.slice(from, point));
            from = point;
          }
          writer.end();
          expect(written).toBe(activeClean(text));
          for (const form of forms) expect(written).not.toContain(form);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('flagHiddenText', () => {
  it('reports and escapes tags, bidi controls and zero-width characters', () => {
    const text = 'approve\u{E0069}\u{E0067} me\u202E\u2066x\u200B\u200Dy\uFEFF';
    const report = flagHiddenText(text);
    expect(report).toEqual({
      text: 'approve[U+E0069][U+E0067] me[U+202E][U+2066]x[U+200B][U+200D]y[U+FEFF]',
      counts: { tag: 2, bidi: 2, zeroWidth: 3 },
      total: 7,
    });
    expect(describeHidden(report.counts)).toBe(
      '2 Unicode tag character(s), 2 bidi control(s), 3 zero-width character(s)',
    );
    expect(flagHiddenText('plain ü 😀')).toEqual({
      text: 'plain ü 😀',
      counts: { tag: 0, bidi: 0, zeroWidth: 0 },
      total: 0,
    });
  });

  it('streams a tag split between its two surrogates', () => {
    const stream = hiddenTextStream();
    const tag = '\u{E0041}';
    expect(stream.push(`a${tag[0] ?? ''}`) + stream.push(`${tag[1] ?? ''}b`) + stream.end()).toBe('a[U+E0041]b');
  });
});

describe('redactEventFields', () => {
  it('cleans free text and keeps ids, digests and rule names', () => {
    boundaryOver({ CANARY_VAR: 'canary-value-000' });
    const event = {
      kind: 'verifyFinished',
      taskId: 't1',
      patchDigest: 'a'.repeat(64),
      integrity: { verdict: 'broken', violations: [{ path: 'canary-value-000.txt', rule: 'secretInPatch' }] },
      seq: 4,
    };
    expect(redactEventFields(event, activeClean)).toEqual({
      ...event,
      integrity: { verdict: 'broken', violations: [{ path: '[REDACTED:canary].txt', rule: 'secretInPatch' }] },
    });
    expect(
      redactEventFields({ kind: 'taskCreated', goal: `merge ${ghToken} \u{E0041}`, taskId: 't1' }, activeClean),
    ).toEqual({ kind: 'taskCreated', goal: 'merge [REDACTED:github-token] [U+E0041]', taskId: 't1' });
    expect(() => redactEventFields({ kind: 'integrationRequested', branch: `x/${ghToken}` }, activeClean)).toThrow(
      SecretInStructuralFieldError,
    );
    expect(cleanJsonText(JSON.stringify({ a: 'canary-value-000', n: 1 }))).toBe('{"a":"[REDACTED:canary]","n":1}');
    expect(cleanJsonText('{"a":"clean"}')).toBe('{"a":"clean"}');
    expect(cleanJsonText('not json')).toBe('');
  });
});

describe('secretsInPatch', () => {
  const patch = (files: DerivedPatch['files']): DerivedPatch => ({
    baseCommit: 'b',
    patch: new Uint8Array(),
    digest: 'd',
    files,
    bytes: 0,
    treeId: 't',
  });

  it('refuses a path or a file that gains a secret or a token; removing one is allowed', () => {
    boundaryOver({ CANARY_VAR: 'canary-value-111' });
    const redact = (text: string): string => activeClean(text);
    const patched: Record<string, string> = {
      'config.js': `const key = 'canary-value-111';\n`,
      link: 'canary-value-111',
      'fixed.txt': 'the token was removed\n',
      'canary-value-111.txt': 'x',
      'notes.txt': `old ${ghToken} kept, nothing added\n`,
      'binary.bin': `\u0000\u0001${Buffer.from('canary-value-111').toString('base64')}\u0000`,
    };
    const base: Record<string, string> = { 'fixed.txt': `token ${ghToken}\n`, 'notes.txt': `old ${ghToken}\n` };
    const violations = secretsInPatch(
      patch([
        { path: 'config.js', status: 'added', binary: false },
        { path: 'link', status: 'added', binary: false },
        { path: 'fixed.txt', status: 'modified', binary: false },
        { path: 'canary-value-111.txt', status: 'added', binary: false },
        { path: 'notes.txt', status: 'modified', binary: false },
        { path: 'binary.bin', status: 'added', binary: true },
        { path: 'gone.txt', status: 'deleted', binary: false },
      ]),
      { redact, readBase: (path) => base[path], readPatched: (path) => patched[path] },
    );
    expect(violations).toEqual([
      { path: 'config.js', rule: 'secretInPatch' },
      { path: 'link', rule: 'secretInPatch' },
      { path: '[REDACTED:canary].txt', rule: 'secretInPatch' },
      { path: 'binary.bin', rule: 'secretInPatch' },
    ]);
    expect(withSecretIntegrity({ verdict: 'clean' }, violations.slice(0, 1))).toEqual({
      verdict: 'broken',
      violations: [{ path: 'config.js', rule: 'secretInPatch' }],
    });
    const protectedToo = {
      verdict: 'protected',
      violations: [{ path: 'package.json', rule: 'verifyDefinition' }],
    } as const;
    expect(withSecretIntegrity(protectedToo, violations.slice(0, 1))).toEqual({
      verdict: 'broken',
      violations: [{ path: 'config.js', rule: 'secretInPatch' }, ...protectedToo.violations],
    });
    expect(withSecretIntegrity(protectedToo, [])).toBe(protectedToo);
  });
});

describe('withSecretsBoundary', () => {
  it('deletes the mapped secrets before the command runs and redacts its output and its crash', async () => {
    const canary = makeCanary('canary');
    const dir = mkdtempSync(join(tmpdir(), 'crustcore-boundary-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(`${dir}/config.json`, JSON.stringify({ secrets: { env: { canary: 'CANARY_VAR' } } }));
    const env: Record<string, string | undefined> = {
      CRUSTCORE_CONFIG: `${dir}/config.json`,
      CANARY_VAR: canary.value,
    };
    let out = '';
    let err = '';
    const io = { stdout: (text: string) => (out += text), stderr: (text: string) => (err += text), env };
    const half = Math.floor(canary.value.length / 2);
    const code = await withSecretsBoundary(['version'], io, async (wrapped) => {
      expect(wrapped.env['CANARY_VAR']).toBeUndefined();
      wrapped.stdout(`split ${canary.value.slice(0, half)}`);
      wrapped.stdout(`${canary.value.slice(half)} done\n`);
      throw new Error(`boom ${canary.value}`);
    });
    expect({ code, out, err }).toEqual({
      code: 70,
      out: 'split [REDACTED:canary] done\n',
      err: 'crustcore: internal error (Error: boom [REDACTED:canary]); this is a bug in crustcore, please report it.\n',
    });
    expect(activeSecretsBoundary()).toBeNull();

    writeFileSync(`${dir}/config.json`, JSON.stringify({ secrets: { nope: 1 } }));
    err = '';
    expect(await withSecretsBoundary(['version'], io, async () => 0)).toBe(2);
    expect(err).toContain('secrets.nope: unknown key');
  });
});
