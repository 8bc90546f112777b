import type { Command } from '../command.js';

/** `crustcore doctor`: is this machine ready to verify changes? One line per check. */
export const doctorCommand: Command = {
  name: 'doctor',
  summary:
    'Check Node, git, each sandbox backend (by proving enforcement), the state dir and, with --verify, the toolchain.',
  usage: "crustcore doctor [--verify '<cmd>'] [--sandbox-binary <path>] [--json]",
  options: {
    verify: {
      type: 'string',
      valueName: '<cmd>',
      description: "also check that this verify command's programs resolve inside the sandbox",
    },
    'sandbox-binary': {
      type: 'string',
      valueName: '<path>',
      description: 'probe this bwrap binary instead of the one on PATH',
    },
  },
  positionals: [],
  run: async (args, io) => (await import('../actions/doctor.js')).doctorAction(args, io),
};
