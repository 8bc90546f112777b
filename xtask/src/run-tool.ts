import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How a tool run ended: its exit code (1 when killed by a signal) and, when captured, its output. */
export interface ToolRun {
  readonly exitCode: number;
  readonly output: string;
}

/**
 * The JavaScript file behind a package's binary, from the package's own manifest, so tools run
 * under this very `node` without a shell or `.bin` shims.
 */
export function toolScript(root: string, packageName: string, binName: string = packageName): string {
  const manifestPath = join(root, 'node_modules', packageName, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[binName];
  if (bin === undefined) throw new Error(`${packageName} has no "${binName}" binary; reinstall with \`npm ci\`.`);
  return join(root, 'node_modules', packageName, bin);
}

/** Captured output is shown later as plain text, so ask tools for no colour codes. */
function capturedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['FORCE_COLOR'];
  return env;
}

/**
 * Runs a package's binary with `node` in `root`. With `capture`, stdout and stderr are collected
 * (interleaved) and returned; otherwise they go straight to this process's streams.
 */
export function runTool(
  root: string,
  packageName: string,
  args: readonly string[],
  options: { readonly capture: boolean; readonly binName?: string },
): Promise<ToolRun> {
  const script = toolScript(root, packageName, options.binName);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: root,
      stdio: options.capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
      env: options.capture ? capturedEnv() : process.env,
    });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolvePromise({ exitCode: code ?? 1, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}
