import type { Command } from '../command.js';

/** `crustcore integrate <task> --into <branch>`: fast-forward an existing branch to a verified patch. */
export const integrateCommand: Command = {
  name: 'integrate',
  summary: "Fast-forward an existing local branch to a task's verified patch (approval per your review mode).",
  usage: 'crustcore integrate <task> --into <branch> [--dir <repo>] [--yes] [--json]',
  options: {
    into: {
      type: 'string',
      valueName: '<branch>',
      description: 'the existing local branch; it must still point at the verified base and not be checked out',
    },
    dir: { type: 'string', valueName: '<repo>', description: 'the git repository (default: the current directory)' },
    yes: {
      type: 'boolean',
      description: 'confirm without asking under review mode auto (for scripts); other modes still need approve',
    },
  },
  positionals: [{ name: 'task', required: true, description: "the task id printed by 'crustcore run'" }],
  run: async (args, io) => (await import('../actions/integrate.js')).integrateAction(args, io),
};
