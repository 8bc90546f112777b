import type { Command } from '../command.js';

/** `crustcore run`: verify a candidate change in the sandbox and deliver it only if it passes. */
export const runCommand: Command = {
  name: 'run',
  summary:
    'Verify a change (a patch, a worker, or your uncommitted edits) in the sandbox; deliver it only if it passes.',
  usage:
    "crustcore run --verify '<cmd>' [--dir <repo>] [--goal <text>] [--patch <file> | --worker '<cmd>' | --model <provider>:<model> [--script <file>] [--turns N] [--max-tokens N] [--max-cost <usd>]] [--attempts N] [--base <rev>] [--timeout <s>] [--sandbox bwrap|gvisor] [--out <file>] [--branch <name>] [--allow-protected <glob>]... [--yes] [--json]",
  options: {
    dir: { type: 'string', valueName: '<repo>', description: 'the git repository (default: the current directory)' },
    verify: {
      type: 'string',
      valueName: '<cmd>',
      description: "the command that proves the change, run with sh -c in the sandbox (e.g. 'npm test')",
    },
    goal: {
      type: 'string',
      valueName: '<text>',
      description: 'what the change is for (handed to the worker, used as the commit message)',
    },
    patch: { type: 'string', valueName: '<file>', description: 'verify this diff (git format, binary-safe)' },
    worker: {
      type: 'string',
      valueName: '<cmd>',
      description: 'run this program in the sandbox to make the change; it reads a JSON contract on stdin',
    },
    'worker-network': { type: 'boolean', description: 'let the worker reach the network (recorded as a risk)' },
    'worker-env': {
      type: 'string',
      multiple: true,
      valueName: '<NAME>',
      description: 'pass this variable to the worker (repeatable; recorded as a risk)',
    },
    attempts: {
      type: 'string',
      valueName: '<N>',
      description: 'verify rounds with --worker or --model (default 2; 1 otherwise)',
    },
    base: { type: 'string', valueName: '<rev>', description: 'the base commit (default HEAD)' },
    timeout: { type: 'string', valueName: '<s>', description: 'seconds each sandboxed run may take (default 600)' },
    sandbox: { type: 'string', valueName: 'bwrap|gvisor', description: 'the sandbox backend (default bwrap)' },
    model: {
      type: 'string',
      valueName: '<provider>:<model>',
      description: "let a model make the change through the kernel's tools (e.g. openai:gpt-4o-mini, mock:scripted)",
    },
    script: { type: 'string', valueName: '<file>', description: 'the JSON script of turns for --model mock:scripted' },
    turns: { type: 'string', valueName: '<N>', description: 'model turns per attempt with --model (default 24)' },
    'max-tokens': {
      type: 'string',
      valueName: '<N>',
      description: 'end the task once the model has used more than N tokens, over all attempts (default 2000000)',
    },
    'max-cost': {
      type: 'string',
      valueName: '<usd>',
      description:
        "end the task once the model has cost more than this many dollars, e.g. 0.50 (needs the provider's pricing in the config; default 20)",
    },
    'sandbox-binary': {
      type: 'string',
      valueName: '<path>',
      description: 'use this backend binary instead of the one on PATH',
    },
    out: {
      type: 'string',
      valueName: '<file>',
      description: 'write the verified patch here (it is always stored in the state dir too)',
    },
    branch: {
      type: 'string',
      valueName: '<name>',
      description: 'commit the verified patch onto this NEW local branch (refused if it exists)',
    },
    'allow-protected': {
      type: 'string',
      multiple: true,
      valueName: '<glob>',
      description: 'accept changes to protected paths matching this glob (repeatable; recorded in the log)',
    },
    yes: {
      type: 'boolean',
      description:
        'confirm the plan without asking when your review mode or rules file wants a confirmation (for scripts; recorded as cli-yes)',
    },
  },
  positionals: [],
  run: async (args, io) => (await import('../actions/run.js')).runAction(args, io),
};
