/** Temp dirs with a state dir, an anchor key and logs written by the real writer. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDir, type MacKey } from '../../src/host/state-dir.js';
import { anchorKeyName } from '../../src/log/head-anchor.js';
import { LogWriter, type Durability } from '../../src/log/log-writer.js';
import { sampleEvents } from './sample-events.js';

/** A temp dir holding a private state dir; `cleanup` removes it. */
export type Scratch = {
  readonly dir: string;
  readonly stateDir: StateDir;
  readonly anchorKey: MacKey;
  readonly cleanup: () => void;
};

/** Creates a scratch dir with a state dir and its `log-anchor` key. */
export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'crustcore-log-'));
  const stateDir = StateDir.open({ CRUSTCORE_STATE_DIR: join(dir, 'state') });
  return {
    dir,
    stateDir,
    anchorKey: stateDir.loadOrCreateKey(anchorKeyName),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Writes `events` to a new log at `name` in the scratch dir (one batch each `batchSize`). */
export function writeLog(
  at: Scratch,
  name: string,
  events: readonly object[],
  options: { readonly durability?: Durability; readonly batchSize?: number; readonly logId?: string } = {},
): string {
  const path = join(at.dir, name);
  const writer = LogWriter.create(path, {
    anchorKey: at.anchorKey,
    durability: options.durability ?? 'batch',
    nowMs: 1_700_000_000_000,
    ...(options.logId === undefined ? {} : { logId: options.logId }),
  });
  const batchSize = options.batchSize ?? 100;
  for (let i = 0; i < events.length; i += batchSize) writer.appendBatch(events.slice(i, i + batchSize));
  writer.close();
  return path;
}

/** A log of `tasks` sample tasks (9 events each, seq from 1). */
export function sampleLog(at: Scratch, name: string, tasks: number, logId?: string): string {
  return writeLog(at, name, sampleEvents(tasks), logId === undefined ? {} : { logId });
}
