import type { Command } from '../command.js';
import { stateDirOption } from '../state-dir-option.js';

/** `crustcore inspect <log>`: verifies a log and summarises its tasks. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Verify an event log: INTACT and a per-task summary, or the first bad record and why.',
  usage: 'crustcore inspect <log> [--state-dir <path>] [--json]',
  options: { 'state-dir': stateDirOption },
  positionals: [{ name: 'log', required: true, description: 'path of the event log (.jsonl)' }],
  run: async (args, io) => (await import('../actions/inspect.js')).inspectAction(args, io),
};
