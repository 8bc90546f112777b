/**
 * The approvals file on a real filesystem: lifecycle pending → granted → used, atomic 0600
 * writes, refusal of a corrupt file, and a lock that keeps two writers from spending one approval.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalStore, ApprovalStoreError, mintApproval } from '../../src/policy/index.js';
import type { NewApproval } from '../../src/policy/index.js';
import { digestOf, integrateMain, key, randomId, temporaryDirectory } from './approval-fixtures.js';

const execFileAsync = promisify(execFile);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function openStore(): { readonly store: ApprovalStore; readonly dir: string } {
  const { dir, remove } = temporaryDirectory();
  cleanups.push(remove);
  return { store: new ApprovalStore(join(dir, 'approvals'), { lockWaitMs: 50 }), dir: join(dir, 'approvals') };
}

const minted = mintApproval({
  key,
  actionDigest: digestOf(integrateMain),
  taskId: 'task-1',
  purpose: 'integrate',
  nowMs: 1000,
  ttlMs: 60_000,
  randomId,
});

const pending: NewApproval = {
  approvalId: minted.approvalId,
  taskId: 'task-1',
  actionKind: 'integrateExistingBranch',
  actionDigest: digestOf(integrateMain),
  purpose: 'integrate',
  createdAtMs: 1000,
  expiresAtMs: minted.expiresAtMs,
  summary: {
    title: 'commit 2 files to main',
    files: ['src/a.ts', 'package.json'],
    protectedPaths: [{ path: 'package.json', reason: 'defines the verify command' }],
    verify: { command: 'npm test', exitCode: 0, outputDigest: `sha256:${'c'.repeat(64)}` },
  },
};

describe('ApprovalStore', () => {
  it('starts empty and files a pending approval with its summary', () => {
    const { store } = openStore();
    expect(store.list()).toEqual([]);
    store.add(pending);
    expect(store.list()).toEqual([{ ...pending, status: 'pending', resolution: null, usedAtMs: null }]);
    expect(store.get(minted.approvalId)).toEqual({ ...pending, status: 'pending', resolution: null, usedAtMs: null });
    expect(store.get('aaaaaaaaaaaaaaaaaaaaaaaaaa')).toBeUndefined();
  });

  it('writes the file 0600 in a 0700 directory and leaves no temporary or lock files', () => {
    const { store, dir } = openStore();
    store.add(pending);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['approvals.json']);
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual({
      version: 1,
      approvals: [{ ...pending, status: 'pending', resolution: null, usedAtMs: null }],
    });
  });

  it('grants, then spends the approval exactly once', () => {
    const { store } = openStore();
    store.add(pending);
    const granted = store.resolve(minted.approvalId, 'grant', { actor: 'user', via: 'cli-yes', nowMs: 2000 });
    expect(granted).toEqual({
      ok: true,
      record: {
        ...pending,
        status: 'granted',
        resolution: { decision: 'grant', actor: 'user', via: 'cli-yes', atMs: 2000 },
        usedAtMs: null,
      },
    });
    const input = { key, token: minted.token, actionDigest: digestOf(integrateMain), nowMs: 3000, used: () => false };
    expect(store.consume(input)).toEqual({ ok: true });
    expect(store.get(minted.approvalId)?.status).toBe('used');
    expect(store.get(minted.approvalId)?.usedAtMs).toBe(3000);
    expect(store.consume(input)).toEqual({
      ok: false,
      code: 'alreadyUsed',
      reason: `approval ${minted.approvalId} was already used; an approval authorises one action once`,
    });
  });

  it('records a denial and refuses to resolve twice', () => {
    const { store } = openStore();
    store.add(pending);
    expect(store.resolve(minted.approvalId, 'deny', { actor: 'user', via: 'cli-tty', nowMs: 2000 }).ok).toBe(true);
    expect(store.resolve(minted.approvalId, 'grant', { actor: 'user', via: 'cli-tty', nowMs: 2001 })).toEqual({
      ok: false,
      code: 'alreadyResolved',
      reason: `approval ${minted.approvalId} is already denied`,
    });
    const check = store.consume({
      key,
      token: minted.token,
      actionDigest: digestOf(integrateMain),
      nowMs: 3000,
      used: () => false,
    });
    expect(check.ok ? 'ok' : check.code).toBe('notGranted');
  });

  it('expires approvals whose time is up, and refuses to grant them', () => {
    const { store } = openStore();
    store.add(pending);
    expect(
      store.resolve(minted.approvalId, 'grant', { actor: 'user', via: 'cli-tty', nowMs: minted.expiresAtMs }),
    ).toEqual({
      ok: false,
      code: 'expired',
      reason: `approval ${minted.approvalId} expired; rerun the task to request a new one`,
    });
    expect(store.get(minted.approvalId)?.status).toBe('expired');
    expect(store.expireDue(minted.expiresAtMs + 1)).toEqual([]);
  });

  it('expireDue marks open approvals and returns their ids', () => {
    const { store } = openStore();
    store.add(pending);
    expect(store.expireDue(minted.expiresAtMs - 1)).toEqual([]);
    expect(store.expireDue(minted.expiresAtMs)).toEqual([minted.approvalId]);
  });

  it('refuses a duplicate or malformed approval', () => {
    const { store } = openStore();
    store.add(pending);
    expect(() => store.add(pending)).toThrow(`approval ${minted.approvalId} is already filed`);
    expect(() => store.add({ ...pending, approvalId: 'ABC' })).toThrow(
      'approval not filed: record.approvalId: expected 26 base32 characters, got "ABC"',
    );
  });

  it('refuses a corrupt file instead of repairing or ignoring it', () => {
    const { store } = openStore();
    writeFileSync(store.path, JSON.stringify({ version: 1, approvals: [{ approvalId: 'x' }] }));
    let caught: unknown;
    try {
      store.list();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ApprovalStoreError);
    expect((caught as ApprovalStoreError).code).toBe('corrupt');
    expect((caught as ApprovalStoreError).message).toBe(
      `${store.path} is not a valid approvals file (approvals[0].taskId: required key is missing); move it aside to start afresh`,
    );
  });

  it('waits for a live lock holder and gives up with a clear error', () => {
    const { store } = openStore();
    // The lock names this very process, which is alive, so the store must not steal it.
    writeFileSync(`${store.path}.lock`, String(process.pid));
    expect(() => store.add(pending)).toThrow(/approvals\.json\.lock is held by another crustcore process/);
    expect(existsSync(store.path)).toBe(false);
  });

  it('takes over a lock whose owner is gone', () => {
    const { store } = openStore();
    // Pid 2^22 + 1 is above Linux's pid_max ceiling, so no process can hold it.
    writeFileSync(`${store.path}.lock`, String(4_194_305));
    store.add(pending);
    expect(store.list()).toHaveLength(1);
    expect(existsSync(`${store.path}.lock`)).toBe(false);
  });
});

describe('ApprovalStore across processes', () => {
  it('lets exactly one of several racing processes spend an approval', async () => {
    const { store, dir } = openStore();
    store.add(pending);
    store.resolve(minted.approvalId, 'grant', { actor: 'user', via: 'cli-tty', nowMs: 2000 });
    const child = fileURLToPath(new URL('./consume-child.ts', import.meta.url));
    const racers = Array.from({ length: 4 }, () =>
      execFileAsync(process.execPath, [
        '--import',
        'tsx',
        child,
        dir,
        minted.token,
        digestOf(integrateMain),
        Buffer.from(key).toString('hex'),
      ]),
    );
    const verdicts = (await Promise.all(racers)).map(
      ({ stdout }) => JSON.parse(stdout) as { ok: boolean; code?: string },
    );
    expect(verdicts.filter((verdict) => verdict.ok)).toEqual([{ ok: true }]);
    expect(verdicts.filter((verdict) => !verdict.ok).map((verdict) => verdict.code)).toEqual([
      'alreadyUsed',
      'alreadyUsed',
      'alreadyUsed',
    ]);
    expect(store.get(minted.approvalId)?.status).toBe('used');
  });
});

describe('ApprovalStore write guard', () => {
  it('refuses to write a record it could not read back, and keeps the file intact', () => {
    const { dir, remove } = temporaryDirectory();
    cleanups.push(remove);
    const store = new ApprovalStore(dir);
    store.add(pending);
    expect(() => store.resolve(minted.approvalId, 'grant', { actor: 'user', via: 'cli-tty', nowMs: 2000.5 })).toThrow(
      'approvals not written: approvals[0].resolution.atMs: expected an integer from 0 to 9007199254740991, got 2000.5',
    );
    expect(store.get(minted.approvalId)?.status).toBe('pending');
  });
});
