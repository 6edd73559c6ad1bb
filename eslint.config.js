// ESLint for gatekit: the rules that find bugs (promises nobody waits for, unused code, a switch that misses a
// case, a value printed as [object Object]), not a style guide; Prettier owns the layout (.prettierrc.json).
// TypeScript files are checked with their types: the type-aware rules read the project's tsconfig.json.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'bench/out/', '.venv/', '**/node_modules/', 'editors/vscode/*.vsix', 'dsl/cst.d.ts'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Added to the recommended set: each finds a real mistake.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }], // `import type`, as the code does
      '@typescript-eslint/no-deprecated': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'], // a promise returned unawaited inside try escapes its catch
      '@typescript-eslint/no-floating-promises': ['error', { checkThenables: true }],
      // A rejection passes on what a catch caught (unknown) as it came; only a value made here must be an Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // `_name` is an argument a signature needs and the body does not use (Unit.create(_d, cfg)).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],

      // Off, with the reason:
      // `any` reaches the code only through JSON.parse and reflect-metadata, mostly in tests reading JSON answers;
      // noImplicitAny already refuses it everywhere else, and typing every JSON answer in a test finds no bug.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Unit.close()/provision() are async by contract; a body with nothing to await is still correct.
      '@typescript-eslint/require-await': 'off',
      // The kernel keeps Node's own write/end/setHeader to call them later with .call(res); the rule cannot tell.
      '@typescript-eslint/unbound-method': 'off',
      // Removing a redundant `as` or naming `{}` in generic schema types changes no behaviour: style, not bugs.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-empty-object-type': 'off',
      // Template literals print numbers, booleans and string arrays as meant.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // TypeScript itself reports undefined names, with the types' knowledge of globals.
      'no-undef': 'off',
      // Header and log-field checks look for control characters on purpose (RFC 9110 field values, log injection).
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: globals.node },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_' }] }, // Express tells an error handler by its four arguments
  },
  {
    rules: {
      // A regex matching column-aligned output (gatekit certs, status) reads best with the spaces as they are printed.
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['**/*.cjs', 'editors/vscode/extension.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    // Scripts that run in the browser: the admin dashboard, and a static site's fixture.
    files: ['plugins/admin/dashboard/**/*.js', 'plugins/static/testdata/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'script' },
  },
);
