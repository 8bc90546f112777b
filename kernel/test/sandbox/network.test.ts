/**
 * Network (REDTEAM 24-26): with `network: false` the command has its own network namespace with
 * only its own loopback. A TCP sink the test runs on the host's 127.0.0.1 receives nothing from
 * curl or node's fetch, no resolver answers, and neither a host Unix socket (by path) nor an
 * abstract one (per network namespace) can be reached.
 */
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { run, shellSpec, tempDir, text } from './helpers.js';

async function sink(listenOn: string | number): Promise<{ server: Server; connections: () => number; port: number }> {
  let count = 0;
  const server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) =>
    typeof listenOn === 'number' ? server.listen(listenOn, '127.0.0.1', resolve) : server.listen(listenOn, resolve),
  );
  const address = server.address();
  return { server, connections: () => count, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

describe('network denied', () => {
  it('curl and fetch to a host loopback sink never connect (REDTEAM 24)', async () => {
    const host = await sink(0);
    try {
      const result = await run(
        shellSpec(
          [
            `curl -sS --max-time 3 http://127.0.0.1:${host.port}/leak; echo "curl=$?"`,
            `node -e "fetch('http://127.0.0.1:${host.port}/leak').then(() => console.log('fetch=ok'), (e) => console.log('fetch=' + e.cause.code))"`,
          ].join('\n'),
        ),
      );
      const output = text(result);
      expect(output).toMatch(/curl=7\n/);
      expect(output).toContain('fetch=ECONNREFUSED');
      expect(host.connections()).toBe(0);
    } finally {
      host.server.close();
    }
  });

  it('has no resolver and no interface but its own loopback (REDTEAM 25)', async () => {
    const result = await run(
      shellSpec(
        [
          'getent hosts exfil-data.example.com; echo "getent=$?"',
          `node -e "require('dns').lookup('exfil-data.example.com', (e) => console.log('lookup=' + (e ? e.code : 'ok')))"`,
          "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
          'test -e /etc/resolv.conf; echo "resolv=$?"',
        ].join('\n'),
      ),
    );
    const output = text(result);
    expect(output).toContain('getent=2\n');
    expect(output).toMatch(/lookup=(ENOTFOUND|EAI_AGAIN)\n/);
    expect(output).toContain('\nlo\nresolv=1\n');
  });

  it('cannot reach a host Unix socket by path or an abstract one (REDTEAM 26)', async () => {
    const dir = tempDir();
    const byPath = await sink(`${dir}/agent.sock`);
    const abstractName = `crustcore-test-${process.pid}-${Date.now()}`;
    const abstract = await sink(`\0${abstractName}`);
    try {
      const script = (path: string, label: string): string =>
        `node -e "require('net').connect('${path}').on('connect', () => { console.log('${label}=connected'); process.exit(0) }).on('error', (e) => console.log('${label}=' + e.code))"`;
      const result = await run(
        shellSpec([script(`${dir}/agent.sock`, 'path'), script(`\\0${abstractName}`, 'abstract')].join('\n')),
      );
      expect(text(result)).toBe('path=ENOENT\nabstract=ECONNREFUSED\n');
      expect(byPath.connections() + abstract.connections()).toBe(0);
    } finally {
      byPath.server.close();
      abstract.server.close();
    }
  });

  it('network: true shares the host network namespace (opt-in only)', async () => {
    const host = await sink(0);
    try {
      const result = await run(
        shellSpec(`curl -sS --max-time 3 http://127.0.0.1:${host.port}/ ; echo "curl=$?"`, { network: true }),
      );
      expect(text(result)).toMatch(/curl=(52|56)\n/);
      expect(host.connections()).toBe(1);
    } finally {
      host.server.close();
    }
  });
});
