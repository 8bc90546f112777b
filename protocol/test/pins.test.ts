/**
 * Pins: the wire surface as literal data. When one of these fails, the wire changed. If that was
 * intended, update the pin in the same change, regenerate the JSON Schemas and update
 * docs/protocol.md; once v1 is released only additive changes behind a capability are allowed.
 */
import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { ErrorCode } from '../src/jsonrpc.js';
import { Limits } from '../src/limits.js';
import { renderJsonSchemas } from '../src/v1/json-schema.js';
import { Methods } from '../src/v1/methods.js';
import { protocolVersion } from '../src/versions.js';

test('protocol version', () => {
  expect(protocolVersion).toBe('1.0.0');
});

test('method table: names, kinds and directions', () => {
  const table = Object.fromEntries(
    Object.entries(Methods).map(([name, row]) => [name, `${row.kind} ${row.direction}`]),
  );
  expect(table).toEqual({
    initialize: 'request kernelToSidecar',
    shutdown: 'request kernelToSidecar',
    '$/cancelRequest': 'notification both',
    '$/ping': 'request both',
    '$/progress': 'notification sidecarToKernel',
    'net/complete': 'request kernelToSidecar',
    'net/embed': 'request kernelToSidecar',
    'net/rerank': 'request kernelToSidecar',
    'index/search': 'request kernelToSidecar',
    'index/files': 'request kernelToSidecar',
    'mcp/callTool': 'request kernelToSidecar',
  });
});

test('error codes', () => {
  expect(ErrorCode).toEqual({
    parseError: -32700,
    invalidRequest: -32600,
    methodNotFound: -32601,
    invalidParams: -32602,
    internalError: -32603,
    versionMismatch: -32010,
    contentTooLarge: -32011,
    timeout: -32012,
    sidecarFailure: -32013,
    invalidState: -32014,
    requestCancelled: -32800,
  });
  expect(new Set(Object.values(ErrorCode)).size).toBe(Object.keys(ErrorCode).length);
});

test('limits', () => {
  expect(Limits).toEqual({
    messageBytesMax: 16_777_216,
    headerBytesMax: 8_192,
    contentLengthDigitsMax: 10,
    methodNameLengthMax: 64,
    requestIdLengthMax: 64,
    jsonDepthMax: 64,
    errorMessageLengthMax: 4_096,
    nameLengthMax: 256,
    textLengthMax: 8_388_608,
    queryLengthMax: 16_384,
    pathLengthMax: 4_096,
    urlLengthMax: 2_048,
    credentialLengthMax: 4_096,
    chatMessagesMax: 4_096,
    toolsMax: 256,
    batchItemsMax: 2_048,
    embeddingDimensionsMax: 16_384,
    resultItemsMax: 10_000,
    contentBlocksMax: 1_024,
    capabilityMethodsMax: 256,
    tokensMax: 100_000_000,
  });
});

test('schema hashes (first 16 hex digits of SHA-256 of each generated JSON Schema)', () => {
  const hashes = Object.fromEntries(
    [...renderJsonSchemas()].map(([file, text]) => [
      file,
      createHash('sha256').update(text).digest('hex').slice(0, 16),
    ]),
  );
  expect(hashes).toEqual({
    'index.files.params.schema.json': '778a044cb0d0cc10',
    'index.files.result.schema.json': '9e18514ae07bcb63',
    'index.search.params.schema.json': '3cedee166f85d3b5',
    'index.search.result.schema.json': '52159ea706ef0967',
    'initialize.params.schema.json': 'c6cdf1bf4ecc0a66',
    'initialize.result.schema.json': '29ab9f32ff72838e',
    'mcp.callTool.params.schema.json': '979357f935e3c50d',
    'mcp.callTool.result.schema.json': '3d93ac4c98ff50fa',
    'net.complete.params.schema.json': '34e2510bc5afb426',
    'net.complete.result.schema.json': '8ae150e9736f99c8',
    'net.embed.params.schema.json': 'bc782feac8e45fb5',
    'net.embed.result.schema.json': '7943a8313a4eb830',
    'net.rerank.params.schema.json': '407c412d50c7beaa',
    'net.rerank.result.schema.json': 'a283adb2c2163caf',
    'rpc.cancelRequest.params.schema.json': '7269143ce9e369ee',
    'rpc.ping.params.schema.json': 'c104cf368d17c24c',
    'rpc.ping.result.schema.json': '2d04f07e93e6fc96',
    'rpc.progress.params.schema.json': 'e307bbc5c96196e5',
    'shutdown.params.schema.json': 'c104cf368d17c24c',
    'shutdown.result.schema.json': '2d04f07e93e6fc96',
  });
});
