import { defineConfig } from 'vitest/config'

// Two projects: unit tests need no services and run in threads; integration tests need the real
// Kafka broker and ClickHouse engine. They run in forked processes because the embedded engine
// (chDB) binds one data directory per process and aborts when a worker_thread opens it.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          pool: 'threads',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['tests/services/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
