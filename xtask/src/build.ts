import { build as tsup } from 'tsup';

export async function build(options: { readonly quiet: boolean }): Promise<void> {
  await tsup({
    entry: { crustcore: 'kernel/src/cli/main.ts' },
    outDir: 'kernel/dist',
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    bundle: true,
    noExternal: [/.*/],
    splitting: false,
    sourcemap: false,
    clean: true,
    metafile: true,
    silent: options.quiet,
    banner: { js: '#!/usr/bin/env node' },
  });
}
