/**
 * Output stop (REDTEAM 20): with `outputBytesStop` a run that floods its output is killed, whole
 * tree at once, as soon as the bytes read pass the stop, long before its timeout; every byte read
 * up to the kill is counted and head and tail are kept. Without the option nothing changes: an
 * endless printer runs until its timeout.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSpec } from '../../src/sandbox/spec-check.js';
import { hostPidsWith, run, shellSpec } from './helpers.js';

const stopBytes = 4 * 1024 * 1024;
/**
 * The read end is closed with the kill, so only the read that passed the stop is counted past
 * it: at most one libuv pipe read (64 KiB).
 */
const pastStopBytesMax = 64 * 1024;

describe('outputBytesStop on real runs', () => {
  it('kills an endless printer once its output passes the stop, counts it, keeps head and tail, leaves nothing', async () => {
    const token = `tok${randomBytes(6).toString('hex')}`;
    const line = `${token}\n`;
    // A background printer too: the kill must take the whole tree, not only the shell.
    const result = await run(
      shellSpec(`yes ${token} & yes ${token}; wait`, {
        timeoutMs: 600_000,
        outputBytesMax: 4096,
        outputBytesStop: stopBytes,
      }),
    );
    expect({
      timedOut: result.timedOut,
      outputStopped: result.outputStopped,
      exitCode: result.exitCode,
      signal: result.signal,
      truncated: result.output.truncated,
      keptChars: result.output.head.length + result.output.tail.length,
    }).toEqual({
      timedOut: false,
      outputStopped: true,
      exitCode: null,
      signal: 'SIGKILL',
      truncated: true,
      keptChars: 4096,
    });
    expect(result.output.totalBytes).toBeGreaterThan(stopBytes);
    expect(result.output.totalBytes).toBeLessThanOrEqual(stopBytes + pastStopBytesMax);
    expect(result.output.head.startsWith(line.repeat(4))).toBe(true);
    // Two printers may interleave at any byte, so the tail is checked for its alphabet, not its lines.
    expect(new Set(result.output.tail)).toEqual(new Set(line));
    expect(hostPidsWith(token)).toEqual([]);
  });

  it('without the option the same printer runs on until its timeout', async () => {
    const token = `tok${randomBytes(6).toString('hex')}`;
    const result = await run(shellSpec(`yes ${token}`, { timeoutMs: 1500, outputBytesMax: 4096 }));
    expect({ timedOut: result.timedOut, outputStopped: result.outputStopped }).toEqual({
      timedOut: true,
      outputStopped: false,
    });
    expect(result.output.totalBytes).toBeGreaterThan(0);
    expect(hostPidsWith(token)).toEqual([]);
  });

  it('a run that stays under the stop is untouched', async () => {
    const result = await run(shellSpec('printf abcd; exit 3', { outputBytesStop: 4 }));
    expect({
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      outputStopped: result.outputStopped,
      output: result.output,
    }).toEqual({
      exitCode: 3,
      timedOut: false,
      outputStopped: false,
      output: { head: 'abcd', tail: '', totalBytes: 4, truncated: false },
    });
  });
});

describe('outputBytesStop in the spec check', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses %s', (value) => {
    expect(() => checkSpec(shellSpec('true', { outputBytesStop: value }))).toThrow(
      new TypeError(
        `sandbox spec: outputBytesStop ${value} is not an integer in [1, ${Number.MAX_SAFE_INTEGER}]; fix the caller.`,
      ),
    );
  });

  it('accepts 1, the largest safe integer, and no stop at all', () => {
    expect(() => checkSpec(shellSpec('true', { outputBytesStop: 1 }))).not.toThrow();
    expect(() => checkSpec(shellSpec('true', { outputBytesStop: Number.MAX_SAFE_INTEGER }))).not.toThrow();
    expect(() => checkSpec(shellSpec('true'))).not.toThrow();
  });
});
