import type { CommandAction } from '../command.js';
import { runDecision, ttyConfirm } from './approve.js';

/** Runs `crustcore deny`; loaded only when the command runs. */
export const denyAction: CommandAction = (args, io) => runDecision('denied', args, io, ttyConfirm);
