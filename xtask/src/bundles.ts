/** How to build one single-file bundle. Its size and import budget live in `size-budget.json` under `name`. */
export interface BundleSpec {
  /** Key in `size-budget.json`. */
  readonly name: string;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Output file, relative to the repository root; its esbuild metafile is written beside it. */
  readonly outFile: string;
  /** Minify (identifiers keep their names so stack traces stay readable). */
  readonly minify: boolean;
}

/** Every bundle the build produces. Adding a bundle is one entry here plus its budget. */
export const Bundles: readonly BundleSpec[] = [
  { name: 'nano', entry: 'kernel/src/cli/main.ts', outFile: 'kernel/dist/crustcore.js', minify: true },
  { name: 'net', entry: 'sidecars/net/src/main.ts', outFile: 'sidecars/net/dist/main.js', minify: true },
  {
    name: 'conformance',
    entry: 'protocol/conformance/main.ts',
    outFile: 'protocol/dist/crustcore-conformance.js',
    minify: true,
  },
];

/** Where a bundle's esbuild metafile lives: `kernel/dist/crustcore.js` → `kernel/dist/crustcore.meta.json`. */
export function metafilePath(spec: BundleSpec): string {
  return spec.outFile.replace(/\.[cm]?js$/, '') + '.meta.json';
}

/** The bundle spec with this name; throws a one-line error naming the known bundles otherwise. */
export function bundleNamed(name: string, bundles: readonly BundleSpec[] = Bundles): BundleSpec {
  const spec = bundles.find((candidate) => candidate.name === name);
  if (spec === undefined) {
    throw new Error(`no bundle named "${name}"; known bundles: ${bundles.map((b) => b.name).join(', ')}.`);
  }
  return spec;
}
