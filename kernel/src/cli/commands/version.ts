import packageJson from '../../../package.json' with { type: 'json' };
import { LogLimits } from '../../log/record-format.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

/** `crustcore version`: the kernel version and the log format it reads and writes. */
export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the crustcore version.',
  usage: 'crustcore version [--json]',
  options: {},
  positionals: [],
  run: async (args, io) => {
    if (args.json) {
      io.stdout(
        `${JSON.stringify({ name: 'crustcore', version: packageJson.version, logFormatVersion: LogLimits.formatVersion, node: process.version })}\n`,
      );
    } else {
      io.stdout(`crustcore ${packageJson.version} (log format ${LogLimits.formatVersion}, node ${process.version})\n`);
    }
    return ExitCode.ok;
  },
};
