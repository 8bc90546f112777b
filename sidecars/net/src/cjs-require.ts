import { createRequire } from 'node:module';

// The built sidecar is one ESM file, but undici and vscode-jsonrpc are CommonJS and load Node
// built-ins with `require`; the bundler's ESM output reaches them through a global `require`,
// which ES modules lack. This module is imported first so the global exists before they load.
const scope = globalThis as { require?: NodeJS.Require };
scope.require ??= createRequire(import.meta.url);
