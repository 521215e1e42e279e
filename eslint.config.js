// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * `npm run lint`: typescript-eslint's recommended rules plus the type-aware ones that catch real
 * bugs in a server (a promise nobody awaits, a promise where a boolean is expected). Formatting is
 * Prettier's job (`npm run format`), not the linter's.
 */
export default tseslint.config(
  { ignores: ['node_modules/', 'playwright-report/', 'test-results/', 'bench/out/', 'data/', 'keys/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Protocol code handles untyped JSON from oidc-provider and the wire; `any` stays visible in review.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // Examples show an expression's value on purpose (`authInfo.extra?.sub; // the caller`) and name
  // results only to show what they are (`const port = await freePort();`).
  {
    files: ['**/*.examples.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off', '@typescript-eslint/no-unused-vars': 'off' },
  },
  // Plain JavaScript (this file, the old-Node check) is outside the TypeScript project.
  { files: ['**/*.js', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  // The npm start launcher (start.mjs) is JavaScript in the TypeScript project (allowJs, `// @ts-check`):
  // tsc resolves its names, as for .ts files, so ESLint's no-undef (which knows no Node globals) is off.
  { files: ['**/*.mjs'], rules: { 'no-undef': 'off' } },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', process: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
