/**
 * Test helper process for the creation races: prints "ready", waits until the go file exists, then
 * either creates-or-loads a key (`key`) or takes a log's lock (`lock`) and prints what it got.
 */
import { existsSync } from 'node:fs';
import { StateDir } from '../../src/host/state-dir.js';
import { acquireLock } from '../../src/log/writer-lock.js';

const [mode = '', stateDirPath = '', goFile = '', logPath = ''] = process.argv.slice(2);
process.stdout.write('ready\n');
while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 1));
try {
  if (mode === 'key') {
    const key = StateDir.open({ CRUSTCORE_STATE_DIR: stateDirPath }).loadOrCreateKey('race');
    process.stdout.write(`key ${key.hmacHex('probe')}\n`);
  } else {
    acquireLock(logPath, Date.now());
    process.stdout.write('locked\n');
    // Hold it until the parent has heard from every racer.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
} catch (error) {
  process.stdout.write(`error ${(error as Error).message}\n`);
}
