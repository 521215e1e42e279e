import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceProblems, conformanceVersion, runConformance, type ConformanceRun } from '../common/testing/conformance.ts';
import { startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

/**
 * The official MCP conformance suite's server scenarios (@modelcontextprotocol/conformance, pinned
 * in package.json) against the real resource server. `conformance server` cannot send a bearer
 * token, so the server runs with MCP_AUTH_DISABLED (development only; refused in production).
 */
const SPEC_VERSION = '2025-11-25';
const SCENARIOS = [
  'server-initialize',
  'server-session-lifecycle',
  'ping',
  'tools-list',
  'dns-rebinding-protection',
  'server-sse-multiple-streams',
];

let rs: RunningResourceServer;
const runs = new Set<ConformanceRun>();

beforeAll(async () => {
  rs = await startResourceServer({ MCP_AUTH_DISABLED: 'true' });
});
afterAll(async () => {
  for (const run of runs) run.kill();
  await rs?.close();
});

describe(`MCP conformance suite ${conformanceVersion()}, server scenarios at ${SPEC_VERSION} (auth off)`, () => {
  it.each(SCENARIOS)(
    '%s: every check passes, with no failure or warning',
    async (scenario) => {
      const run = runConformance(
        'server',
        ['--url', rs.mcpUrl, '--scenario', scenario, '--spec-version', SPEC_VERSION, '--timeout', '20000'],
        {
          timeoutMs: 40_000,
        },
      );
      runs.add(run);
      try {
        const result = await run.result;
        expect(conformanceProblems(result, [scenario]), result.output).toEqual([]);
      } finally {
        run.kill();
        runs.delete(run);
      }
    },
    60_000,
  );

  it('reports the scenario as failed when the server demands a token (the suite really talks to our server)', async () => {
    const guarded = await startResourceServer({ AUTH_ISSUER: 'http://127.0.0.1:9' });
    const run = runConformance(
      'server',
      ['--url', guarded.mcpUrl, '--scenario', 'server-initialize', '--spec-version', SPEC_VERSION, '--timeout', '20000'],
      {
        timeoutMs: 40_000,
      },
    );
    runs.add(run);
    try {
      const result = await run.result;
      expect(result.exitCode).toBe(1);
      expect(conformanceProblems(result, ['server-initialize'])).toContainEqual(
        expect.stringMatching(/^server-initialize: FAILURE server-initialize /),
      );
    } finally {
      run.kill();
      runs.delete(run);
      await guarded.close();
    }
  }, 60_000);
});
