// Lint rules: typescript-eslint's type-aware recommended set, so that floating promises
// (a lost error in a trading path) and unsafe any flows are caught before review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import arbees from './lint/plugin.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'coverage/', 'demo-report/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.cjs'],
    plugins: { arbees },
    rules: { 'arbees/layers': 'error', 'arbees/line-width': 'error' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // chai's `expect(x).to.be.true` is an expression statement by design.
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
