import type { Command } from '../command.js';

/** `crustcore demo`: the whole loop, offline, on a bundled example repo. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the whole loop offline on a bundled example repo: a wrong fix rejected, a right one verified.',
  usage: 'crustcore demo [--keep] [--json]',
  options: { keep: { type: 'boolean', description: 'keep the temporary repo, state dir and log' } },
  positionals: [],
  run: async (args, io) => (await import('../actions/demo.js')).demoAction(args, io),
};
