import type { Command } from '../command.js';
import { stateDirOption } from '../state-dir-option.js';

/**
 * `crustcore export <log>`: the verified events as JSONL on stdout. A log that is not intact is
 * exported up to its first bad record, and the command says so on stderr and exits 1.
 */
export const exportCommand: Command = {
  name: 'export',
  summary: 'Print the verified events of a log as JSONL, one event per line.',
  usage: 'crustcore export <log> [--state-dir <path>] [--json]',
  options: { 'state-dir': stateDirOption },
  positionals: [{ name: 'log', required: true, description: 'path of the event log (.jsonl)' }],
  run: async (args, io) => (await import('../actions/export.js')).exportAction(args, io),
};
