import { defineConfig } from 'vitest/config';

/** Tests that check SQLite itself (its file, WAL, checkpoints, schema catalogue, `npm start` on a file, the benchmark). */
const SQLITE_ONLY = ['tests/checkpointer.test.ts', 'tests/schema.test.ts', 'tests/start.test.ts', 'tests/bench.smoke.test.ts', 'tests/sqlite-read-snapshots.test.ts'];

// `npm test` runs the whole suite twice: on the embedded SQLite store, and on PostgreSQL (each
// test file on a database of its own, created and dropped by tests/setup/postgresql.ts).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'sqlite', exclude: ['tests/**/*.postgresql.test.ts', 'node_modules/**'] } },
      {
        extends: true,
        test: {
          name: 'postgresql',
          env: { TEST_STORE: 'postgresql' },
          setupFiles: ['tests/setup/postgresql.ts'],
          exclude: [...SQLITE_ONLY, 'node_modules/**'],
        },
      },
    ],
  },
});
