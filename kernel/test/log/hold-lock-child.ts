/** Test helper process: opens a log for writing (taking its lock), prints "ready", and waits. */
import { StateDir } from '../../src/host/state-dir.js';
import { anchorKeyName } from '../../src/log/head-anchor.js';
import { LogWriter } from '../../src/log/log-writer.js';

const [logPath = '', stateDirPath = ''] = process.argv.slice(2);
const key = StateDir.open({ CRUSTCORE_STATE_DIR: stateDirPath }).loadOrCreateKey(anchorKeyName);
const writer = LogWriter.open(logPath, { anchorKey: key, durability: 'every', nowMs: Date.now() });
process.stdout.write(`ready ${writer.lastSeq}\n`);
setInterval(() => undefined, 60_000);
