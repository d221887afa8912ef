import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**/vendor/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // One door per library: another library is imported by its alias (@app/db), which
  // resolves to its index.ts; a file inside it is private, and libs/ never imports apps/.
  {
    files: ['apps/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@app/*/**'], message: 'import the library by its alias only (its index.ts); files inside a library are private' },
        { group: ['**/libs/**', '**/libs'], message: 'import a library by its alias (@app/<name>), not by a relative path' },
      ] }],
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@app/*/**'], message: 'import the library by its alias only (its index.ts); files inside a library are private' },
        { group: ['**/apps/**', '**/apps'], message: 'a library never imports an app' },
        { group: ['**/src', '**/src/**', '**/libs/**'], message: 'another library is imported by its alias (@app/<name>), not by a relative path' },
      ] }],
    },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**', '**/*.spec.ts', 'examples/**'],
    rules: { 'no-console': 'off' },
  },
);
