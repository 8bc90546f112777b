/**
 * A real HTTP server on 127.0.0.1 for the net sidecar's tests. Each test scripts the answers with
 * a handler; the server records every request (method, path, headers, parsed body) and notices
 * when a client closes its connection before the response ended.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** Answers one request; `attempt` counts requests to the same path, from 0. */
export type Handler = (request: SeenRequest, response: ServerResponse, attempt: number) => void | Promise<void>;

/** A running loopback server. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` without a trailing slash. */
  readonly origin: string;
  readonly requests: SeenRequest[];
  /** Resolves when a client closed a connection while its response was still open. */
  readonly clientClosedEarly: Promise<void>;
  close(): Promise<void>;
}

/** Starts a server whose every request is answered by `handler`. */
export async function startLoopbackServer(handler: Handler): Promise<LoopbackServer> {
  const requests: SeenRequest[] = [];
  const attempts = new Map<string, number>();
  let resolveClosed: () => void = () => undefined;
  const clientClosedEarly = new Promise<void>((resolve) => (resolveClosed = resolve));
  const server: Server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // Keep the raw text.
      }
      const seen: SeenRequest = {
        method: incoming.method ?? '',
        path: incoming.url ?? '',
        headers: incoming.headers,
        body,
      };
      requests.push(seen);
      const attempt = attempts.get(seen.path) ?? 0;
      attempts.set(seen.path, attempt + 1);
      response.on('close', () => {
        if (!response.writableEnded) resolveClosed();
      });
      Promise.resolve(handler(seen, response, attempt)).catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    clientClosedEarly,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON response. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Starts an event stream response. */
export function startEvents(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.flushHeaders();
}

/** Resolves after `ms` milliseconds. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes each piece as its own TCP write, with a short pause between, so the client sees fragments. */
export async function writePieces(response: ServerResponse, pieces: readonly string[]): Promise<void> {
  for (const piece of pieces) {
    response.write(piece);
    await pause(5);
  }
}
