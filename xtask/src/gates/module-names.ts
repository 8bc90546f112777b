import { builtinModules } from 'node:module';

const builtins: ReadonlySet<string> = new Set(builtinModules);

/**
 * The `node:`-prefixed name of a built-in module (`fs` and `node:fs` both give `node:fs`), or
 * undefined when the specifier is not a built-in. Prefix-only built-ins (`node:test`, `node:sqlite`)
 * count as built-ins.
 */
export function builtinName(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return specifier;
  return builtins.has(specifier) ? `node:${specifier}` : undefined;
}

/** The package a bare specifier names: `zod/mini` gives `zod`, `@scope/pkg/sub` gives `@scope/pkg`. */
export function packageOfSpecifier(specifier: string): string {
  const parts = specifier.split('/');
  const scoped = parts[0]?.startsWith('@') === true && parts.length > 1;
  return (scoped ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/**
 * The package a bundled file belongs to (`node_modules/zod/v4/index.js` gives `zod`), taken after
 * the last `node_modules/` segment; undefined for files outside any `node_modules`.
 */
export function packageOfPath(path: string): string | undefined {
  const marker = 'node_modules/';
  const at = path.lastIndexOf(marker);
  if (at === -1) return undefined;
  const rest = path.slice(at + marker.length);
  return rest === '' ? undefined : packageOfSpecifier(rest);
}

/**
 * Whether a module name matches a list entry: an exact name, a built-in's subpath
 * (`node:dns/promises` matches `node:dns`), or a whole scope (`@aws-sdk/*`).
 */
export function matchesModule(name: string, pattern: string): boolean {
  if (pattern.endsWith('/*')) return name.startsWith(pattern.slice(0, -1));
  return name === pattern || (name.startsWith('node:') && name.startsWith(`${pattern}/`));
}
