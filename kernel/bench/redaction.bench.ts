/**
 * Redaction throughput: 16 MiB of mixed log-like text with 5 known secrets planted in several
 * encodings and a few token shapes, redacted one-shot and as a stream of 64 KiB chunks.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRedactor } from '../src/secrets/redact.js';
import { encodingsOf } from '../src/secrets/encodings.js';
import type { BenchFigure } from '../../xtask/src/bench/figure.js';

const textBytes = 16 * 1024 * 1024;
const chunkChars = 64 * 1024;

function mixedText(values: readonly string[]): string {
  const lines = [
    'PASS  src/parser.test.ts (12 tests) 48ms',
    '{"level":"info","msg":"request finished","status":200,"path":"/api/v1/items?page=3"}',
    '    at Object.<anonymous> (/repo/src/index.ts:41:17)',
    'error TS2345: Argument of type "string" is not assignable to parameter of type "number".',
    'diff --git a/src/app.ts b/src/app.ts\n+  const total = items.reduce((sum, item) => sum + item.price, 0);',
    'Downloading https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQpmA',
    'Authorization header omitted; token expires in 3600 seconds; retrying with backoff 250ms',
  ];
  const plants = values.flatMap((value) => encodingsOf(value).map((form) => form.text));
  plants.push('AKIAIOSFODNN7EXAMPLE', `ghp_${'Ab1'.repeat(12)}`, 'Authorization: Bearer abc.def.ghi-123');
  const parts: string[] = [];
  let length = 0;
  for (let index = 0; length < textBytes; index++) {
    const line =
      index % 97 === 0 ? `value=${plants[index % plants.length] ?? ''}` : (lines[index % lines.length] ?? '');
    parts.push(line);
    length += line.length + 1;
  }
  return parts.join('\n');
}

const mibPerSecond = (chars: number, ms: number): number => Math.round((chars / (1024 * 1024) / (ms / 1000)) * 10) / 10;

/** One-shot and streaming redaction throughput in MB/s. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const secrets = Array.from({ length: 5 }, (_, index) => ({
    name: `secret-${index}`,
    value: randomBytes(24).toString('base64'),
  }));
  const redactor = createRedactor(secrets);
  const text = mixedText(secrets.map((secret) => secret.value));

  redactor.redact(text.slice(0, 1024 * 1024));
  let started = performance.now();
  const once = redactor.redact(text);
  const oneShotMs = performance.now() - started;

  started = performance.now();
  const stream = redactor.stream();
  let streamed = '';
  for (let offset = 0; offset < text.length; offset += chunkChars)
    streamed += stream.push(text.slice(offset, offset + chunkChars));
  streamed += stream.end();
  const streamMs = performance.now() - started;
  if (streamed !== once) throw new Error('streamed redaction differs from one-shot redaction');

  return [
    {
      name: 'redaction one-shot (16 MiB, 5 secrets)',
      value: mibPerSecond(text.length, oneShotMs),
      unit: 'MB/s',
      target: { op: '>=', value: 50 },
    },
    {
      name: 'redaction stream, 64 KiB chunks',
      value: mibPerSecond(text.length, streamMs),
      unit: 'MB/s',
      target: { op: '>=', value: 50 },
    },
  ];
}
