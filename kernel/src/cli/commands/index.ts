/**
 * The command registry. Adding a command is its metadata in this folder, its implementation in
 * `../actions/` (loaded with `import()` only when it runs), plus one line here.
 */
import type { Command } from '../command.js';
import { approvalsCommand } from './approvals.js';
import { approveCommand } from './approve.js';
import { demoCommand } from './demo.js';
import { denyCommand } from './deny.js';
import { doctorCommand } from './doctor.js';
import { exportCommand } from './export.js';
import { helpCommand } from './help.js';
import { integrateCommand } from './integrate.js';
import { inspectCommand } from './inspect.js';
import { replayCommand } from './replay.js';
import { runCommand } from './run.js';
import { secretsCommand } from './secrets.js';
import { versionCommand } from './version.js';

/** Every command, in the order `crustcore help` lists them. */
export const commandList: readonly Command[] = [
  runCommand,
  demoCommand,
  doctorCommand,
  approvalsCommand,
  approveCommand,
  denyCommand,
  integrateCommand,
  inspectCommand,
  exportCommand,
  replayCommand,
  secretsCommand,
  versionCommand,
  helpCommand,
];

/** The command called `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return commandList.find((command) => command.name === name);
}
