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

/**
 * 2026-07-28 scenarios outside the `auth` suite: the security checks (a PRM naming another
 * resource, RFC 9207 `iss` present/missing/wrong/normalised, AS metadata with a foreign issuer),
 * offline_access (SEP-2207) and a changed authorization server (SEP-2352).
 */
const SPEC_2026_EXTRA = [
  'auth/resource-mismatch',
  'auth/offline-access-scope',
  'auth/offline-access-not-supported',
  'auth/authorization-server-migration',
  'auth/iss-supported',
  'auth/iss-not-advertised',
  'auth/iss-supported-missing',
  'auth/iss-wrong-issuer',
  'auth/iss-unexpected',
  'auth/iss-normalized',
  'auth/metadata-issuer-mismatch',
];

describe(`conformance ${conformanceVersion()}: the command-line client, 2026-07-28 scenarios beyond the auth suite`, () => {
  for (const scenario of SPEC_2026_EXTRA)
    it(`passes ${scenario}`, { timeout: 90_000 }, async () => {
      const run = runConformance('client', ['--command', COMMAND, '--scenario', scenario, '--spec-version', '2026-07-28'], {
        timeoutMs: 80_000,
      });
      const result = await run.result;
      expect(conformanceProblems(result, [scenario], { allowInfo: true }), result.output).toEqual([]);
    });
});

describe(`conformance ${conformanceVersion()}: the command-line client, DPoP (RFC 9449, --dpop)`, () => {
  // auth/dpop: a proof at the token endpoint, then `Authorization: DPoP` with a fresh proof (htm,
  // htu, ath, a new jti) on every MCP request. auth/dpop-nonce: both servers first answer
  // use_dpop_nonce, and the request must be repeated with their DPoP-Nonce.
  for (const scenario of ['auth/dpop', 'auth/dpop-nonce'])
    it(`passes ${scenario}`, { timeout: 90_000 }, async () => {
      const run = runConformance('client', ['--command', COMMAND, '--scenario', scenario], { timeoutMs: 80_000 });
      const result = await run.result;
      expect(conformanceProblems(result, [scenario], { allowInfo: true }), result.output).toEqual([]);
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

describe(`conformance ${conformanceVersion()}: the command-line client, Enterprise-Managed Authorization (SEP-990)`, () => {
  // The ID token is exchanged at the IdP for an ID-JAG (RFC 8693: requested_token_type id-jag,
  // audience the AS issuer, resource the MCP server), which the AS takes as a jwt-bearer assertion
  // (RFC 7523) with client_secret_basic; the resulting token is then used on the MCP server.
  it('passes auth/enterprise-managed-authorization (--id-jag-idp, --id-token)', { timeout: 90_000 }, async () => {
    const scenario = 'auth/enterprise-managed-authorization';
    const run = runConformance('client', ['--command', COMMAND, '--scenario', scenario], { timeoutMs: 80_000 });
    const result = await run.result;
    expect(conformanceProblems(result, [scenario], { allowInfo: true }), result.output).toEqual([]);
  });
});
