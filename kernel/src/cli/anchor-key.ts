import { StateDir, resolveStateDirPath, type MacKey } from '../host/state-dir.js';
import { anchorKeyName } from '../log/head-anchor.js';
import type { CommandArgs } from './command.js';
import type { Io } from './io.js';

/** The `--state-dir` value, if given. */
export function stateDirFlag(args: CommandArgs): string | undefined {
  const value = args.values['state-dir'];
  return typeof value === 'string' ? value : undefined;
}

/** The `log-anchor` key if the state dir holds one; `where` names the state dir for messages. */
export type AnchorKeyLookup = { readonly key: MacKey | null; readonly where: string };

/**
 * Looks up the head-anchor key without creating the state dir or the key: reading a log must not
 * change the state dir. An insecure state dir or key file is refused (`StateDirError`).
 */
export function findAnchorKey(io: Io, stateDirFlag: string | undefined): AnchorKeyLookup {
  const env = stateDirFlag === undefined ? io.env : { ...io.env, CRUSTCORE_STATE_DIR: stateDirFlag };
  const stateDir = StateDir.find(env);
  if (stateDir === null) return { key: null, where: resolveStateDirPath(env) };
  return { key: stateDir.loadKey(anchorKeyName), where: stateDir.path };
}
