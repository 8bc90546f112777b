import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** One block per zone: the kernel core is pure, the rest of the kernel is the shell. */
export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', '.tmp/**', 'test/fixtures/**', 'kernel/assets/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['kernel/src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['kernel/src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'Time enters the kernel core as event.atMs.' },
        { name: 'Intl', message: 'Locale-dependent output is not deterministic.' },
        { name: 'WeakRef', message: 'GC timing is not deterministic.' },
        { name: 'FinalizationRegistry', message: 'GC timing is not deterministic.' },
        { name: 'globalThis', message: 'Reach nothing ambient from the kernel core.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Randomness enters the core as data in events.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: ':function[async=true]', message: 'The kernel core is synchronous.' },
        {
          selector:
            'CallExpression[callee.property.name=/^(localeCompare|toLocaleString|toLocaleDateString|toLocaleTimeString)$/]',
          message: 'Locale-dependent output is not deterministic.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'zod', '@*/*', '../*'], message: 'kernel/src/core imports only kernel/src/core.' },
          ],
        },
      ],
    },
  },
);
