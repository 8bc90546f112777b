import type { Command } from '../command.js';

/** `crustcore approve <id>`: grant a pending approval and let the kernel perform the approved step. */
export const approveCommand: Command = {
  name: 'approve',
  summary: 'Grant a pending approval (after showing it); the kernel then performs exactly that step.',
  usage: 'crustcore approve <id> [--yes] [--json]',
  options: {
    yes: { type: 'boolean', description: 'confirm without asking (for scripts; recorded as cli-yes)' },
  },
  positionals: [{ name: 'id', required: true, description: "the approval id from 'crustcore approvals'" }],
  run: async (args, io) => (await import('../actions/approve.js')).approveAction(args, io),
};
