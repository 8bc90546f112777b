import type { Command } from '../command.js';

/** `crustcore deny <id>`: deny a pending approval; the task is rejected or stays unintegrated. */
export const denyCommand: Command = {
  name: 'deny',
  summary: 'Deny a pending approval (after showing it): protected changes are rejected, a branch stays as it is.',
  usage: 'crustcore deny <id> [--yes] [--json]',
  options: {
    yes: { type: 'boolean', description: 'confirm without asking (for scripts; recorded as cli-yes)' },
  },
  positionals: [{ name: 'id', required: true, description: "the approval id from 'crustcore approvals'" }],
  run: async (args, io) => (await import('../actions/deny.js')).denyAction(args, io),
};
