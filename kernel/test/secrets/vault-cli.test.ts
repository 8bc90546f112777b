/**
 * Invariant: `crustcore secrets` never prints a value unless `get --reveal` asks for it, takes
 * values and passphrases only from stdin, the environment (deleted once read) or a terminal, and
 * exits 0 ok, 1 failed (one line on stderr), 2 usage.
 * Method: the command runs in-process against a real vault in a temp directory with captured io.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSecretsCommand } from '../../src/secrets/vault-cli.js';
import type { SecretsCommandIo } from '../../src/secrets/vault-cli.js';

const kdf = { log2N: 15, r: 8, p: 1 };
const passphrase = 'correct horse battery staple';
const value = 'sk-live-value-0123456789';

let dir = '';
let vault = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crustcore-secrets-cli-'));
  vault = join(dir, 'state', 'secrets.vault');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Run = {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly env: Record<string, string | undefined>;
};

async function run(
  argv: readonly string[],
  options: { env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const env = options.env ?? { CRUSTCORE_VAULT_PASSPHRASE: passphrase, CRUSTCORE_STATE_DIR: join(dir, 'state') };
  const stdin = options.stdin;
  const io: SecretsCommandIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
    stdinIsTty: false,
    ...(stdin === undefined ? {} : { readStdin: () => Promise.resolve(stdin) }),
  };
  const code = await runSecretsCommand(argv, io, { kdf });
  return { code, stdout, stderr, env };
}

describe('crustcore secrets', () => {
  it('sets from stdin (creating the vault), reports presence and length, reveals only on request', async () => {
    const set = await run(['set', 'api-key'], { stdin: `${value}\n` });
    expect(set).toEqual({
      code: 0,
      stdout: 'created vault and set api-key\n',
      stderr: '',
      env: { CRUSTCORE_STATE_DIR: join(dir, 'state') },
    });
    expect(await readdir(join(dir, 'state'))).toEqual(['secrets.vault']);

    const get = await run(['get', 'api-key']);
    expect([get.code, get.stdout, get.stderr]).toEqual([0, 'api-key: present, 24 characters\n', '']);
    const json = await run(['get', 'api-key', '--json', '--vault', vault]);
    expect(JSON.parse(json.stdout)).toEqual({ name: 'api-key', present: true, length: 24 });
    const revealed = await run(['get', '--reveal', 'api-key']);
    expect([revealed.code, revealed.stdout]).toEqual([0, `${value}\n`]);
  });

  it('sets from an environment variable, lists, removes and rotates', async () => {
    const env = {
      CRUSTCORE_VAULT_PASSPHRASE: passphrase,
      CRUSTCORE_STATE_DIR: join(dir, 'state'),
      TOKEN_IN: 'token-from-env',
    };
    expect((await run(['set', 'gh-token', '--from-env', 'TOKEN_IN'], { env })).env).toEqual({
      CRUSTCORE_STATE_DIR: join(dir, 'state'),
    });
    await run(['set', 'api-key'], { stdin: value });
    expect((await run(['list'])).stdout).toBe('api-key\ngh-token\n');
    expect(JSON.parse((await run(['list', '--json'])).stdout)).toEqual({ names: ['api-key', 'gh-token'] });
    expect(await run(['rm', 'gh-token'])).toMatchObject({ code: 0, stdout: 'removed gh-token\n' });
    expect((await run(['list'])).stdout).toBe('api-key\n');

    const rotate = await run(['rotate'], {
      env: {
        CRUSTCORE_VAULT_PASSPHRASE: passphrase,
        CRUSTCORE_VAULT_NEW_PASSPHRASE: 'new passphrase 2',
        CRUSTCORE_STATE_DIR: join(dir, 'state'),
      },
    });
    expect([rotate.code, rotate.stdout, rotate.env]).toEqual([
      0,
      'rotated the vault passphrase\n',
      { CRUSTCORE_STATE_DIR: join(dir, 'state') },
    ]);
    const old = await run(['list']);
    expect([old.code, old.stdout]).toEqual([1, '']);
    expect(old.stderr).toBe(
      `crustcore secrets: cannot open vault ${vault}: wrong passphrase (or the header's salt or KDF fields were altered); check CRUSTCORE_VAULT_PASSPHRASE.\n`,
    );
    const fresh = await run(['get', 'api-key', '--reveal'], {
      env: { CRUSTCORE_VAULT_PASSPHRASE: 'new passphrase 2', CRUSTCORE_VAULT: vault },
    });
    expect(fresh.stdout).toBe(`${value}\n`);
  });

  it('fails with one line when there is no passphrase, no value or no entry', async () => {
    const noPassphrase = await run(['list'], { env: { CRUSTCORE_STATE_DIR: join(dir, 'state') } });
    expect(noPassphrase).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'crustcore secrets: no vault passphrase: set CRUSTCORE_VAULT_PASSPHRASE or run from a terminal to be prompted.\n',
      env: { CRUSTCORE_STATE_DIR: join(dir, 'state') },
    });
    expect(await run(['set', 'api-key'])).toMatchObject({
      code: 1,
      stderr: 'crustcore secrets: no value given; pipe it on stdin, use --from-env VAR, or run in a terminal\n',
    });
    expect(await run(['get', 'api-key'])).toMatchObject({
      code: 1,
      stderr: `crustcore secrets: vault ${vault} does not exist; create it with \`crustcore secrets set <name>\`.\n`,
    });
    await run(['set', 'api-key'], { stdin: value });
    expect(await run(['get', 'other'])).toMatchObject({
      code: 1,
      stderr: `crustcore secrets: vault ${vault} has no secret named other; \`crustcore secrets list\` shows the names it has.\n`,
    });
  });

  it('exits 2 with the usage on a usage error', async () => {
    const cases: ReadonlyArray<readonly [readonly string[], string]> = [
      [[], 'missing command'],
      [['frobnicate'], 'unknown command frobnicate'],
      [['get'], 'get needs a secret name'],
      [['set', 'bad name'], `invalid secret name "bad name": use 1-64 letters, digits, '.', '_' or '-'`],
      [['list', 'extra'], 'list takes no argument'],
      [['list', '--reveal'], '--reveal applies to get only'],
      [['get', 'x', '--from-env', 'V'], '--from-env applies to set only'],
      [['get', 'x', '--verbose'], 'unknown option --verbose'],
      [['set', 'a', 'b', 'c'], 'unexpected argument b'],
    ];
    for (const [argv, message] of cases) {
      const result = await run(argv);
      expect([result.code, result.stdout, result.stderr.split('\n')[0]]).toEqual([
        2,
        '',
        `crustcore secrets: ${message}`,
      ]);
    }
  });
});
