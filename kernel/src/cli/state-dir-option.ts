import type { OptionSpec } from './command.js';

/** The `--state-dir` option of the commands that read logs. */
export const stateDirOption: OptionSpec = {
  type: 'string',
  valueName: '<path>',
  description: 'state dir holding the log-anchor key (default: $CRUSTCORE_STATE_DIR, then $XDG_STATE_HOME/crustcore)',
};
