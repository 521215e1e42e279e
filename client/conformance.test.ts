import { describe, expect, it } from 'vitest';
import { conformanceProblems, conformanceVersion, runConformance } from '../common/testing/conformance.ts';

/**
 * The official suite's client scenarios against our CLI's code (client/conformance.ts drives the
 * same Session as `mcp-oauth`): the `auth` suite at spec 2026-07-28, plus the extension scenario
 * for client credentials. The suite starts its own mock resource and authorization servers on
 * loopback for each scenario.
 */
const AUTH_SUITE = [
  'auth/metadata-default',
  'auth/metadata-var1',
  'auth/metadata-var2',
  'auth/metadata-var3',
  'auth/basic-cimd',
  'auth/scope-from-www-authenticate',
  'auth/scope-from-scopes-supported',
  'auth/scope-omitted-when-undefined',
  'auth/scope-step-up',
  'auth/scope-retry-limit',
  'auth/token-endpoint-auth-basic',
  'auth/token-endpoint-auth-post',
  'auth/token-endpoint-auth-none',
  'auth/pre-registration',
];
const COMMAND = `${process.execPath} client/conformance.ts`;

describe(`conformance ${conformanceVersion()}: the command-line client`, () => {
  it('passes every scenario of the auth suite at spec 2026-07-28', { timeout: 240_000 }, async () => {
    const run = runConformance('client', ['--command', COMMAND, '--suite', 'auth', '--spec-version', '2026-07-28'], { timeoutMs: 220_000 });
    const result = await run.result;
    expect(conformanceProblems(result, AUTH_SUITE, { allowInfo: true }), result.output).toEqual([]);
  });
});

describe(`conformance ${conformanceVersion()}: the command-line client, extension scenarios`, () => {
  for (const scenario of ['auth/client-credentials-basic', 'auth/client-credentials-jwt'])
    it(`passes ${scenario} (machine sign-in: --client-credentials)`, { timeout: 90_000 }, async () => {
      const run = runConformance('client', ['--command', COMMAND, '--scenario', scenario], { timeoutMs: 80_000 });
      const result = await run.result;
      expect(conformanceProblems(result, [scenario], { allowInfo: true }), result.output).toEqual([]);
    });
});
