import type { Command } from '../command.js';

/**
 * `crustcore secrets set|get|list|rm|rotate`: the encrypted vault. Values never come from argv;
 * `get` prints only presence and length unless `--reveal` asks for the value, which is then the
 * one output that bypasses the redactor.
 */
export const secretsCommand: Command = {
  name: 'secrets',
  summary: 'Manage the encrypted vault: set, get [--reveal], list, rm, rotate.',
  usage:
    'crustcore secrets set <name> [--from-env VAR] | get <name> [--reveal] | list | rm <name> | rotate   [--vault <path>] [--json]',
  options: {
    reveal: { type: 'boolean', description: 'get: print the value itself (it bypasses the redactor)' },
    'from-env': {
      type: 'string',
      valueName: '<VAR>',
      description: 'set: read the value from this environment variable (else stdin or a prompt)',
    },
    vault: {
      type: 'string',
      valueName: '<path>',
      description: 'the vault file (default: $CRUSTCORE_VAULT, secrets.vault in the config, the state dir)',
    },
  },
  positionals: [
    { name: 'verb', required: true, description: 'set | get | list | rm | rotate' },
    { name: 'name', required: false, description: 'the secret name (set, get, rm)' },
  ],
  run: async (args, io) => (await import('../actions/secrets.js')).secretsAction(args, io),
};
