import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../common/free-port.ts';
import { startResourceServer, type RunningResourceServer } from '../../resource-server/testing/test-server.ts';
import { postForm, postJson, startAuthServer, type TestAuthServer } from '../testing/harness.ts';
import { startTestIdp, type TestIdp } from '../testing/test-idp.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let dir: string;
let idp: TestIdp;
let auth: TestAuthServer;
let rs: RunningResourceServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'id-jag-mcp-'));
  idp = await startTestIdp();
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const file = join(dir, 'trusted-idps.json');
  await writeFile(file, JSON.stringify([{ issuer: idp.issuer, clients: '*', resources: [resource] }]));
  auth = await startAuthServer({ RS_RESOURCE_URL: resource, AUTH_TRUSTED_IDPS: file });
  rs = await startResourceServer({ RS_PORT: String(port), RS_RESOURCE_URL: resource, AUTH_ISSUER: auth.url });
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ID-JAG end to end', () => {
  it('the access token a redeemed ID-JAG gives works at the MCP server: the client calls a tool as the enterprise user', async () => {
    const registration = await postJson(`${auth.url}/reg`, {
      client_name: 'Enterprise agent',
      grant_types: [JWT_BEARER],
      token_endpoint_auth_method: 'client_secret_post',
    });
    const machine = (await registration.json()) as { client_id: string; client_secret: string };
    expect(registration.status).toBe(201);

    const assertion = await idp.idJag({ audience: auth.url, clientId: machine.client_id, resource: rs.mcpUrl });
    const response = await postForm(`${auth.url}/token`, {
      grant_type: JWT_BEARER,
      assertion,
      client_id: machine.client_id,
      client_secret: machine.client_secret,
    });
    const tokens = (await response.json()) as { access_token: string };
    expect(response.status, JSON.stringify(tokens)).toBe(200);

    const client = new Client({ name: 'enterprise-agent', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(rs.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } },
    });
    await client.connect(transport);
    try {
      const result = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
      const link = await auth.storage.accounts.findLink(`idp:${idp.issuer}`, 'U019488227');
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        kind: 'user',
        subject: link!.accountId,
        clientId: machine.client_id,
        scopes: ['mcp:tools'],
        roles: ['user'],
      });
    } finally {
      await client.close();
    }
  });
});
