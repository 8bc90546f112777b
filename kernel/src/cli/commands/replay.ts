import type { Command } from '../command.js';
import { stateDirOption } from '../state-dir-option.js';

/** `crustcore replay <log>`: re-runs the kernel core over the log and compares its checkpoints. */
export const replayCommand: Command = {
  name: 'replay',
  summary: "Re-run the kernel core over a log's events; compare with its checkpoints.",
  usage: 'crustcore replay <log> [--state-dir <path>] [--json]',
  options: { 'state-dir': stateDirOption },
  positionals: [{ name: 'log', required: true, description: 'path of the event log (.jsonl)' }],
  run: async (args, io) => (await import('../actions/replay.js')).replayAction(args, io),
};
