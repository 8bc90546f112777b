import './cjs-require.js';
import { readFileSync } from 'node:fs';
import { createMessageConnection, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { NetConfig } from './net-config.js';
import { defaultNetConfig, parseNetConfig } from './net-config.js';
import { NetServer } from './net-server.js';
import { NetService } from './net-service.js';
import { StrictStreamReader } from './strict-stream-reader.js';

/** Exit codes of the net sidecar process. */
const ExitCode = { ok: 0, brokenInput: 1, usage: 2, crashed: 70 } as const;

const usage = 'usage: crustcore-net [--config <file.json>] [--offline]';

function log(line: string): void {
  process.stderr.write(`crustcore-net: ${line}\n`);
}

function loadConfig(argv: readonly string[]): NetConfig {
  let configPath: string | undefined;
  let offline = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--offline') offline = true;
    else if (argument === '--config' && argv[index + 1] !== undefined) configPath = argv[++index];
    else throw new Error(`unknown argument ${JSON.stringify(argument)}; ${usage}`);
  }
  const base =
    configPath === undefined
      ? defaultNetConfig
      : parseNetConfig(JSON.parse(readFileSync(configPath, 'utf8')) as unknown);
  return offline ? { ...base, offline: true } : base;
}

function main(): void {
  let config: NetConfig;
  try {
    config = loadConfig(process.argv.slice(2));
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    process.exit(ExitCode.usage);
  }
  const service = new NetService(config);
  const writer = new StreamMessageWriter(process.stdout);
  const reader = new StrictStreamReader(process.stdin, (message) => writer.write(message));
  const connection = createMessageConnection(reader, writer);
  new NetServer(connection, service, log);
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    void service.close();
    // Give the writer's queue one turn to flush the last response before the process ends.
    setImmediate(() => process.exit(code));
  };
  connection.onClose(() => {
    const failure = reader.failure;
    if (failure !== null) log(`stopped reading stdin: ${failure.message}`);
    exit(failure === null ? ExitCode.ok : ExitCode.brokenInput);
  });
  process.stdout.on('error', () => exit(ExitCode.ok));
  process.on('uncaughtException', (error) => {
    log(`crashed: ${error.name}`);
    process.exit(ExitCode.crashed);
  });
  connection.listen();
}

main();
