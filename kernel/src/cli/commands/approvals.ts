import type { Command } from '../command.js';

/** `crustcore approvals`: the approvals waiting for the user, with what each one authorises. */
export const approvalsCommand: Command = {
  name: 'approvals',
  summary: 'List the approvals waiting for you, with the evidence for each.',
  usage: 'crustcore approvals [--dir <repo>] [--json]',
  options: {
    dir: { type: 'string', valueName: '<repo>', description: 'only this repository (default: every repository)' },
  },
  positionals: [],
  run: async (args, io) => (await import('../actions/approvals.js')).approvalsAction(args, io),
};
