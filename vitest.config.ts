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
  },
});
