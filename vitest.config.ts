import { configDefaults, defineConfig } from 'vitest/config';

// The global setup creates SDK clients in this process; keep Node 20's SDK notice out of the report.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The deployed-bundles suite synthesizes the app first: its own command (npm run test:bundles, run by CI).
    exclude: [...configDefaults.exclude, 'test/bundles/**'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // Two cores on CI: the local DynamoDB and SQS are shared, so a few workers are plenty.
    maxWorkers: 3,
    // `npm run coverage` (CI runs it instead of `npm test`: the same suite, measured): the code that
    // holds the rules. The gate is where coverage stood when it was set; raise it, never lower it.
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      thresholds: { statements: 95, branches: 88, functions: 98, lines: 96 },
    },
  },
});
