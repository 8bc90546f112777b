import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { build as tsup } from 'tsup';
import { Bundles, metafilePath, type BundleSpec } from './bundles.js';

/** Options for {@link build}. */
export interface BuildOptions {
  /** Print nothing but errors. */
  readonly quiet: boolean;
  /** Bundles to build; all of them by default. */
  readonly bundles?: readonly BundleSpec[];
}

const shebang = '#!/usr/bin/env node';

/**
 * Builds each bundle into one ESM file that runs with plain `node` and needs no `node_modules`:
 * every package is bundled, only built-ins stay external. The file starts with exactly one
 * `#!/usr/bin/env node` line, is executable, and has its esbuild metafile beside it. Paths are
 * relative to `root` (or absolute), and `root` must be the current directory (esbuild records inputs relative to it).
 */
export async function build(root: string, options: BuildOptions): Promise<void> {
  if (process.cwd() !== resolve(root)) {
    throw new Error(`build must run from the repository root ${root}, not ${process.cwd()}; chdir first.`);
  }
  for (const spec of options.bundles ?? Bundles) await buildOne(root, spec, options.quiet);
}

async function buildOne(root: string, spec: BundleSpec, quiet: boolean): Promise<void> {
  const outFile = resolve(root, spec.outFile);
  const metafile = resolve(root, metafilePath(spec));
  const outDir = dirname(outFile);
  const stem = basename(outFile, extname(outFile));
  const tsupMetafile = join(outDir, 'metafile-esm.json');
  // Several bundles may share a folder, so remove only this bundle's files rather than cleaning it.
  rmSync(outFile, { force: true });
  rmSync(metafile, { force: true });
  rmSync(tsupMetafile, { force: true });
  mkdirSync(outDir, { recursive: true });

  await tsup({
    config: false,
    entry: { [stem]: spec.entry },
    outDir,
    format: ['esm'],
    outExtension: () => ({ js: extname(outFile) }),
    platform: 'node',
    target: 'node20',
    bundle: true,
    noExternal: [/.*/],
    removeNodeProtocol: false,
    splitting: false,
    sourcemap: false,
    clean: false,
    dts: false,
    minify: spec.minify,
    keepNames: spec.keepNames,
    metafile: true,
    silent: quiet,
  });
  renameSync(tsupMetafile, metafile);

  // An entry may carry its own `#!` line; esbuild keeps it, so a banner would add a second one.
  const code = readFileSync(outFile, 'utf8').replace(/^#![^\n]*\n/, '');
  writeFileSync(outFile, `${shebang}\n${code}`);
  chmodSync(outFile, 0o755);
}
