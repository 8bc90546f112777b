import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'kernel/test/**/*.test.ts',
      'protocol/test/**/*.test.ts',
      'sidecars/*/test/**/*.test.ts',
      'xtask/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/fixtures/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
