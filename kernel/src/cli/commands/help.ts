import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { commandHelp, overviewHelp } from '../help-text.js';
import { commandList } from './index.js';

/** `crustcore help [command]`: the command list, or one command's options. */
export const helpCommand: Command = {
  name: 'help',
  summary: 'Show the commands, or the options of one command.',
  usage: 'crustcore help [command] [--json]',
  options: {},
  positionals: [{ name: 'command', required: false, description: 'the command to describe' }],
  run: async (args, io) => {
    const name = args.positionals[0];
    const command = name === undefined ? undefined : commandList.find((candidate) => candidate.name === name);
    if (name !== undefined && command === undefined) {
      io.stderr(`crustcore: unknown command '${name}'. Run 'crustcore help' to list the commands.\n`);
      return ExitCode.usage;
    }
    if (args.json) {
      const described = command === undefined ? commandList : [command];
      io.stdout(
        `${JSON.stringify({
          commands: described.map((entry) => ({
            name: entry.name,
            summary: entry.summary,
            usage: entry.usage,
            options: Object.keys(entry.options).concat('json', 'help'),
          })),
        })}\n`,
      );
      return ExitCode.ok;
    }
    io.stdout(command === undefined ? overviewHelp() : commandHelp(command));
    return ExitCode.ok;
  },
};
