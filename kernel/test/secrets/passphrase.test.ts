/**
 * Invariant: a passphrase comes from its environment variable (which is deleted once read) or from
 * the terminal with echo off; with neither, the error names the variable to set.
 * Method: plain objects for the environment; a real pseudo-terminal (util-linux `script`) for the
 * prompt, typing only after the prompt appears and checking the answer never shows on screen; a fixture
 * whose terminal writes settle late proves an answer typed at once is not lost.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPassphrase } from '../../src/secrets/passphrase.js';

describe('readPassphrase', () => {
  it('reads the variable and deletes it', async () => {
    const env: Record<string, string | undefined> = { CRUSTCORE_VAULT_PASSPHRASE: 'from the environment', OTHER: 'x' };
    const result = await readPassphrase({ env, envVarName: 'CRUSTCORE_VAULT_PASSPHRASE', tty: false });
    expect(result.ok && [result.value.name, result.value.expose('test assertion')]).toEqual([
      'vault-passphrase',
      'from the environment',
    ]);
    expect(env).toEqual({ OTHER: 'x' });
  });

  it('without a variable or a terminal, names the variable to set', async () => {
    const env: Record<string, string | undefined> = { CRUSTCORE_VAULT_PASSPHRASE: '' };
    expect(await readPassphrase({ env, envVarName: 'CRUSTCORE_VAULT_PASSPHRASE', tty: false })).toEqual({
      ok: false,
      error: { code: 'passphraseUnavailable', envVarName: 'CRUSTCORE_VAULT_PASSPHRASE' },
    });
    expect(env).toEqual({});
  });
});

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const fixture = fileURLToPath(new URL('./fixtures/prompt-passphrase.ts', import.meta.url));
const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

/** Runs the fixture in a pseudo-terminal and types each answer once its prompt has appeared. */
function underTerminal(args: readonly string[], answers: ReadonlyArray<readonly [string, string]>): Promise<string> {
  const command = [process.execPath, tsxCli, fixture, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let next = 0;
  let searchFrom = 0;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    screen += chunk;
    const answer = answers[next];
    const at = answer === undefined ? -1 : screen.indexOf(answer[0], searchFrom);
    if (answer !== undefined && at !== -1) {
      next++;
      searchFrom = at + answer[0].length;
      child.stdin.write(`${answer[1]}\r`);
    }
  });
  // A prompt that never returns ends here, with the screen as it stood, instead of at the test timeout.
  const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(deadline);
      resolve(screen);
    });
  });
}

describe('readPassphrase on a terminal', () => {
  it('prompts with echo off', async () => {
    const screen = await underTerminal([], [['Vault passphrase: ', 'tty horse staple']]);
    const digest = createHash('sha256').update('tty horse staple').digest('hex');
    expect(screen).toContain(`result ok length=16 sha256=${digest}`);
    expect(screen).not.toContain('tty horse');
  });

  it('refuses a confirmation that differs', async () => {
    const screen = await underTerminal(
      ['confirm'],
      [
        ['Vault passphrase: ', 'first answer'],
        ['Repeat it: ', 'second answer'],
      ],
    );
    expect(screen).toContain('result error passphraseMismatch');
    expect(screen).not.toContain('answer');
  });

  it('reads an answer typed before the prompt has finished writing', async () => {
    const screen = await underTerminal(
      ['confirm', 'slow-write'],
      [
        ['Vault passphrase: ', 'quick answer'],
        ['Repeat it: ', 'quick answer'],
      ],
    );
    const digest = createHash('sha256').update('quick answer').digest('hex');
    expect(screen).toContain(`result ok length=12 sha256=${digest}`);
    expect(screen).not.toContain('quick');
  });
});
