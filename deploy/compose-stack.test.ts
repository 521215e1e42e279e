import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDemoAccount } from '../auth-server/demo-user.ts';
import { loginAndGetTokens, registerPublicClient } from '../auth-server/testing/harness.ts';
import { composeUpLocally, type LocalCompose } from './local-compose.ts';

/**
 * There is no Docker engine here: this runs docker-compose.yml's services with the Dockerfile's
 * CMD/ENV/WORKDIR and the build context .dockerignore lets in (see local-compose.ts for the few
 * things that must be remapped on one machine), so the compose stack cannot rot unnoticed.
 */
describe("docker compose stack, run with the containers' commands and environment", { timeout: 30_000 }, () => {
  let stack: LocalCompose;
  beforeAll(async () => {
    stack = await composeUpLocally();
  }, 60_000);
  afterAll(async () => {
    const codes = await stack?.down();
    expect(codes, 'both containers stop cleanly on SIGTERM (docker stop)').toEqual({ 'resource-server': 0, 'auth-server': 0 });
  }, 30_000);

  it('both services become healthy by their compose healthchecks, in depends_on order', () => {
    expect([...stack.services.keys()]).toEqual(['auth-server', 'resource-server']);
  });

  it('the image HEALTHCHECK (no URL) passes in each container', async () => {
    for (const name of ['auth-server', 'resource-server']) {
      expect(await stack.exec(name, stack.imageHealthcheck!), name).toBe(0);
    }
  });

  it('a token from the auth server (public issuer URL) is accepted by the resource server, which fetches the keys by service name', async () => {
    const auth = stack.services.get('auth-server')!;
    const rs = stack.services.get('resource-server')!;
    const issuer = auth.env.AUTH_ISSUER!;
    const mcpUrl = rs.env.RS_RESOURCE_URL!;
    expect(rs.env.AUTH_ISSUER).toBe(issuer);
    expect(rs.env.AUTH_JWKS_URL, 'keys by service name: auth-server:<port> inside the network').toBe(`http://127.0.0.1:${auth.port}/jwks`);

    const demo = parseDemoAccount(auth.output());
    expect(demo, `the development container prints the demo account:\n${auth.output()}`).toBeTruthy();
    const client = await registerPublicClient({ url: issuer });
    const database = stack.postgres.get('postgres')!;
    expect(new URL(auth.env.DATABASE_URL!).pathname, 'the auth server stores in the postgres service').toBe(`/${database.database}`);
    expect(await database.count("SELECT count(*) FROM models WHERE model = 'Client' AND id = $1", [client.client_id])).toBe(1);
    const { tokens } = await loginAndGetTokens(
      { url: issuer },
      {
        clientId: client.client_id,
        redirectUri: client.redirect_uris[0]!,
        username: demo!.username,
        password: demo!.password,
        resource: mcpUrl,
      },
    );

    // From inside the compose network the public issuer URL does not lead to the auth server:
    // take it away, so the resource server can only have used AUTH_JWKS_URL.
    await auth.unpublish();
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${tokens.access_token}` } },
    });
    const mcp = new Client({ name: 'compose-check', version: '1.0.0' });
    await mcp.connect(transport);
    try {
      const result = (await mcp.callTool({ name: 'whoami' })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ clientId: client.client_id, scopes: ['mcp:tools'] });
    } finally {
      await mcp.close();
    }
  });
});
