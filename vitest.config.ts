import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'common/**/*.test.ts',
      'client/**/*.test.ts',
      'docs/**/*.test.ts',
      'auth-server/**/*.test.ts',
      'resource-server/**/*.test.ts',
      'deploy/**/*.test.ts',
      'examples/**/*.test.ts',
    ],
    // A real PostgreSQL for the whole run (the machine's when named, else one from npm).
    globalSetup: ['./vitest.global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Each test file starts real servers on loopback; two cores → keep file-level parallelism modest.
    maxWorkers: 2,
    // .ci/run does not set CI, so say it here: a stray .only must fail the run, not narrow it.
    allowOnly: false,
  },
});
