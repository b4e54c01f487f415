import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@gw/source'] },
  test: {
    include: ['apps/*/src/**/*.spec.ts', 'libs/*/src/**/*.spec.ts', 'apps/*/test/**/*.test.ts', 'libs/*/test/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
