import { decodeJwt } from 'jose';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startAuthServer, type TestAuthServer } from '../auth-server/testing/harness.ts';
import { freePort } from '../common/free-port.ts';
import { connect, TestOAuthProvider } from '../e2e/mcp-client.ts';
import { signInAs } from './testing/oauth-client.ts';
import { startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

/** The whole stack in-process: the real auth server (defaults for RS_RESOURCE_URL's siblings) and the real resource server. */
let auth: TestAuthServer;
let rs: RunningResourceServer;
let origin: string;
const alice = { username: 'alice', password: 'correct horse battery staple' };

beforeAll(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  auth = await startAuthServer({ RS_RESOURCE_URL: `${origin}/mcp` });
  await addUser(auth);
  rs = await startResourceServer({ RS_PORT: String(port), RS_RESOURCE_URL: `${origin}/mcp`, AUTH_ISSUER: auth.url });
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
});

const REDIRECT_URI = 'http://127.0.0.1:8976/callback';
const provider = () => new TestOAuthProvider({ redirectUrl: REDIRECT_URI });

describe('the legacy /sse endpoint is a resource of its own (RFC 9728 §3.3)', () => {
  it('the SDK SSE client (SSEClientTransport + OAuthClientProvider) signs in for …/sse and calls a tool', async () => {
    const sdk = provider();
    const { client } = await connect(`${origin}/sse`, sdk, signInAs(alice, REDIRECT_URI), 'sse');
    try {
      const result = (await client.callTool({ name: 'greet', arguments: { name: 'SSE' } })) as CallToolResult;
      expect(result.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^Hello, SSE!/) });
      expect(sdk.authorizationUrls[0]!.searchParams.get('resource')).toBe(`${origin}/sse`);
      expect(decodeJwt(sdk.storedTokens!.access_token)).toMatchObject({ aud: `${origin}/sse`, scope: 'mcp:tools' });
    } finally {
      await client.close();
    }
  });

  it('the SDK Streamable HTTP client still signs in for …/mcp', async () => {
    const sdk = provider();
    const { client } = await connect(`${origin}/mcp`, sdk, signInAs(alice, REDIRECT_URI));
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      expect(decodeJwt(sdk.storedTokens!.access_token).aud).toBe(`${origin}/mcp`);
    } finally {
      await client.close();
    }
  });
});
