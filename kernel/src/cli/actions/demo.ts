import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runGit } from '../../attempt/index.js';
import { resolveModelCandidate } from '../../host/agent-model.js';
import { defaultConfig } from '../../host/config.js';
import { demoGoal, demoRepoFiles, demoVerifyCommand } from '../../host/demo-repo.js';
import { demoModelScript, demoModelSpec } from '../../host/demo-script.js';
import { runTask } from '../../host/run-task.js';
import { StateDir } from '../../host/state-dir.js';
import { anchorKeyName, inspectLog } from '../../log/index.js';
import type { CommandAction } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { renderInspect } from './inspect.js';
import { renderRunReport } from './run.js';

/** Creates the example repo (one commit) in `dir` with the kernel's hardened git. */
async function createDemoRepo(dir: string): Promise<string | null> {
  for (const [path, content] of Object.entries(demoRepoFiles)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const identity = ['user.name=crustcore demo', 'user.email=demo@localhost', 'init.defaultBranch=main'];
  for (const args of [
    ['init', '-q'],
    ['add', '-A'],
    ['commit', '-q', '-m', 'demo-stats: mean() with a bug'],
  ]) {
    const result = await runGit({ cwd: dir, args, config: identity });
    if (!result.ok) return `git ${args[0] ?? ''} failed in the demo repo: ${result.error.detail}`;
  }
  return null;
}

async function runDemo(io: Io, keep: boolean, json: boolean): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'crustcore-demo-'));
  const repoDir = join(root, 'demo-stats');
  const env = { ...io.env, CRUSTCORE_STATE_DIR: join(root, 'state') };
  const say = (line: string): void => {
    if (!json) io.stdout(`${line}\n`);
  };
  try {
    mkdirSync(repoDir);
    const failure = await createDemoRepo(repoDir);
    if (failure !== null) {
      io.stderr(`crustcore demo: ${failure}\n`);
      return ExitCode.failed;
    }
    const scriptPath = join(root, 'model-script.json');
    writeFileSync(scriptPath, `${JSON.stringify(demoModelScript, null, 2)}\n`);
    // The demo ignores the user's config: it always runs the bundled sidecar with the offline mock.
    const model = resolveModelCandidate({
      spec: demoModelSpec,
      scriptPath,
      config: defaultConfig,
      secret: () => null,
      cwd: root,
    });
    if (typeof model === 'string') {
      io.stderr(`crustcore demo: ${model}\n`);
      return ExitCode.failed;
    }
    say('crustcore demo: an example repo with a bug, a model that fixes it, and the kernel that decides.');
    say(`  repo:   ${repoDir}`);
    say(`  goal:   ${demoGoal}`);
    say(`  verify: ${demoVerifyCommand}   (run by the kernel in the sandbox, never by the model)`);
    say('  model:  a scripted mock (offline) in the net sidecar, acting only through kernel tools;');
    say('          its first attempt is wrong, its second is right.');
    say('');
    const outcome = await runTask({
      repoDir,
      verifyCommand: demoVerifyCommand,
      goal: demoGoal,
      candidate: { kind: 'model', ...model },
      attemptsMax: 2,
      baseRev: 'HEAD',
      timeoutMs: 120_000,
      backend: 'bwrap',
      allowProtected: [],
      env,
      progress: (line) => io.stderr(`crustcore: ${line}\n`),
    });
    if (!outcome.ok) {
      io.stderr(`crustcore demo: ${outcome.error.message}\n`);
      return ExitCode.failed;
    }
    const report = outcome.report;
    const stateDir = StateDir.open(env);
    const inspect = inspectLog(report.log.path, { anchorKey: stateDir.loadKey(anchorKeyName) });
    if (json) {
      const { patchText: _patchText, ...rest } = report;
      io.stdout(`${JSON.stringify({ run: rest, inspect })}\n`);
    } else {
      say(renderRunReport(report).trimEnd());
      say('');
      say('The event log, checked by `crustcore inspect`:');
      say(renderInspect(inspect, stateDir.path).trimEnd());
      say('');
      say(
        keep
          ? `Kept ${root} (repo, state dir and log) for you to look at.`
          : 'The demo ran in a temporary directory, now removed (pass --keep to keep it).',
      );
    }
    return report.exitCode === ExitCode.ok && inspect.status === 'intact' ? ExitCode.ok : ExitCode.failed;
  } finally {
    if (!keep) rmSync(root, { recursive: true, force: true });
  }
}

/** Runs `crustcore demo`; loaded only when the command runs. */
export const demoAction: CommandAction = (args, io) => runDemo(io, args.values['keep'] === true, args.json);
