import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.correx/', 'coverage/', 'dist/', 'test/support/openapi.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
      parserOptions: {
        // Type-aware rules: every .ts file is in tsconfig.json; the few JavaScript entry points (this file,
        // bin/, scripts/*.mjs) are outside it (no allowJs) and get TypeScript's default project instead.
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its rejection: a failed activity or query must surface, not vanish.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // A new incident state, action kind or regime must be handled everywhere that switches on it.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // The bug-finding part of recommendedTypeChecked. Its no-unsafe-* rules (400+ hits, mostly commander's
      // untyped options and parsed JSON), require-await and the stylistic ones are left out on purpose.
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-array-delete': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/restrict-plus-operands': 'error',
      '@typescript-eslint/no-unsafe-unary-minus': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Workflows declare state that handlers registered earlier read before the first assignment.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Migrations are typed against Kysely<any> on purpose: they must not change when the schema types do.
    files: ['migrations/**/*.ts', 'services/db/migrate.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no wall clock, no randomness.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'pg', 'kysely', '@electric-sql/*', 'nodemailer', 'fastify'],
              message: 'Workflows must stay deterministic: do side effects in activities.',
            },
            { group: ['**/activities/*', '!**/activities/index.js'], importNames: ['*'], message: 'Import activity types only, through proxyActivities.' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use time passed in by the caller or workflow timers.' },
        { object: 'Math', property: 'random', message: 'Use uuid4() from @temporalio/workflow.' },
      ],
    },
  },
);
