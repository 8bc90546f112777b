/** How to build one single-file bundle. Its size and import budget live in `size-budget.json` under `name`. */
export interface BundleSpec {
  /** Key in `size-budget.json`. */
  readonly name: string;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Output file, relative to the repository root; its esbuild metafile is written beside it. */
  readonly outFile: string;
  /** Minify. */
  readonly minify: boolean;
  /**
   * Keep function and class names through minification, so stack traces stay readable. The nano
   * kernel drops them: its failures are one-line messages, and the names cost about 17 KiB and a
   * `defineProperty` per function at start.
   */
  readonly keepNames: boolean;
}

/** Every bundle the build produces. Adding a bundle is one entry here plus its budget. */
export const Bundles: readonly BundleSpec[] = [
  {
    name: 'nano',
    entry: 'kernel/src/cli/main.ts',
    outFile: 'kernel/dist/crustcore.js',
    minify: true,
    keepNames: false,
  },
  {
    name: 'net',
    entry: 'sidecars/net/src/main.ts',
    outFile: 'sidecars/net/dist/main.js',
    minify: true,
    keepNames: true,
  },
  {
    name: 'conformance',
    entry: 'protocol/conformance/main.ts',
    outFile: 'protocol/dist/crustcore-conformance.js',
    minify: true,
    keepNames: true,
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
