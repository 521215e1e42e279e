import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceProblems, conformanceVersion, runConformance, type ConformanceRun } from '../common/testing/conformance.ts';
import { startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

/**
 * The official MCP conformance suite's server scenarios (@modelcontextprotocol/conformance, pinned
 * in package.json) against the real resource server. `conformance server` cannot send a bearer
 * token, so the server runs with MCP_AUTH_DISABLED (development only; refused in production).
 */
const SPEC_VERSION = '2025-11-25';
/** Both revisions on the same URL: 2025-11-25 with sessions, 2026-07-28 stateless per request. */
const RUNS: [specVersion: string, scenario: string][] = [
  ...['server-initialize', 'server-session-lifecycle', 'ping', 'tools-list', 'dns-rebinding-protection', 'server-sse-multiple-streams'].map(
    (scenario): [string, string] => ['2025-11-25', scenario],
  ),
  ...['server-stateless', 'http-header-validation', 'tools-list', 'caching', 'dns-rebinding-protection', 'server-sse-multiple-streams'].map(
    (scenario): [string, string] => ['2026-07-28', scenario],
  ),
];

/**
 * Checks of the scenarios above that cannot apply to this server, with the reason (the README's
 * conformance section lists them too). Each must still show up as not passed: when the suite starts
 * passing one, its entry goes.
 */
const NOT_APPLICABLE: Record<string, string> = {
  'sep-2575-server-rejects-undeclared-capability':
    "needs the suite's diagnostic tool test_missing_capability; no tool of ours needs a client capability",
  'sep-2575-missing-capability-http-400': "needs the suite's diagnostic tool test_missing_capability",
  'sep-2575-http-server-no-independent-requests-on-stream':
    "needs the suite's diagnostic tool test_streaming_elicitation; no tool of ours elicits",
  'sep-2575-server-no-log-without-loglevel': "needs the suite's diagnostic tool test_logging_tool; our tools do not log to the client",
  'sep-2575-server-sends-tools-list-changed-on-subscription': 'the tool list is fixed at start; it never changes while running',
  'sep-2575-server-sends-prompts-list-changed-on-subscription': 'the server has no prompts',
  'sep-2549-prompts-list-caching-hints': 'the server has no prompts (prompts/list is -32601)',
  'sep-2549-resources-list-caching-hints': 'the server has no resources (resources/list is -32601)',
  'sep-2549-resources-templates-list-caching-hints': 'the server has no resource templates',
  'sep-2549-resources-read-caching-hints': 'the server has no resources',
  'server-sse-streams-functional': 'INFO only: on 2026-07-28 a short answer is one JSON body (SSE is optional)',
};

/** What is left once the not-applicable checks (and the exit code they cause) are set aside. */
function problemsThatApply(problems: string[]): string[] {
  const checkProblems = problems.filter((p) => /^[\w-]+: [A-Z]+ /.test(p));
  const applicable = checkProblems.filter((p) => !(p.split(' ')[2]! in NOT_APPLICABLE));
  const others = problems.filter((p) => !checkProblems.includes(p));
  // The CLI exits 1 for any failure; if every failure is a not-applicable one, that exit says nothing.
  return [...(applicable.length === 0 ? others.filter((p) => !p.startsWith('the conformance CLI exited with 1')) : others), ...applicable];
}

let rs: RunningResourceServer;
const runs = new Set<ConformanceRun>();

beforeAll(async () => {
  rs = await startResourceServer({ MCP_AUTH_DISABLED: 'true' });
});
afterAll(async () => {
  for (const run of runs) run.kill();
  await rs?.close();
});

describe(`MCP conformance suite ${conformanceVersion()}, server scenarios (auth off)`, () => {
  it.each(RUNS)(
    'at %s, %s: every check passes, with no failure or warning',
    async (specVersion, scenario) => {
      const run = runConformance(
        'server',
        ['--url', rs.mcpUrl, '--scenario', scenario, '--spec-version', specVersion, '--timeout', '20000'],
        {
          timeoutMs: 40_000,
        },
      );
      runs.add(run);
      try {
        const result = await run.result;
        expect(problemsThatApply(conformanceProblems(result, [scenario])), result.output).toEqual([]);
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
