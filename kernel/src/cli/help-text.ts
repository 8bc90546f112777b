/** Help texts, built from the command registry so a new command documents itself. */
import type { Command } from './command.js';
import { commandList } from './commands/index.js';

/** The help text of one command. */
export function commandHelp(command: Command): string {
  const lines = [`usage: ${command.usage}`, '', command.summary, ''];
  for (const positional of command.positionals)
    lines.push(`  <${positional.name}>`.padEnd(24) + positional.description);
  const flags: [string, string][] = Object.entries(command.options).map(([name, spec]) => [
    `--${name}${spec.valueName === undefined ? '' : ` ${spec.valueName}`}`,
    spec.description,
  ]);
  flags.push(['--json', 'print one JSON object on stdout'], ['-h, --help', 'show this help']);
  for (const [flag, description] of flags) lines.push(`  ${flag}`.padEnd(24) + description);
  return `${lines.join('\n')}\n`;
}

/** The overview printed by `crustcore help`. */
export function overviewHelp(): string {
  const lines = ['usage: crustcore <command> [options]', '', 'commands:'];
  for (const command of commandList) lines.push(`  ${command.name.padEnd(10)}${command.summary}`);
  lines.push('', "Run 'crustcore help <command>' for a command's options.");
  lines.push(
    'Exit codes: 0 ok, 1 failed/tampered, 2 usage or config error, 3 refused, 4 needs approval, 70 internal error.',
  );
  return `${lines.join('\n')}\n`;
}
