import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface RecordingUpstream {
  /** …/mcp */
  url: string;
  /** The headers of every request it received. */
  requests: IncomingHttpHeaders[];
  /** Session ids it handed out (one per upstream session). */
  sessions: string[];
  /** The verified payloads of the bearer JWTs it accepted (with requireJwt). */
  jwts: JWTPayload[];
  /**
   * From now on, refuses (401) any request without a bearer JWT that verifies with jose against
   * `jwksUrl`, for this issuer and audience: what a real upstream does with MCP_UPSTREAM_IDENTITY=jwt.
   */
  requireJwt(options: { jwksUrl: string; issuer: string; audience: string }): void;
  close(): Promise<void>;
}

/**
 * A Streamable HTTP MCP server (the SDK's, with sessions) that records every request's headers,
 * so a test can check what the gateway sends upstream. Its one tool `echo` echoes.
 */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: IncomingHttpHeaders[] = [];
  const sessions: string[] = [];
  const jwts: JWTPayload[] = [];
  let verify: ((token: string) => Promise<JWTPayload>) | undefined;
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    requests.push(req.headers);
    if (verify) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const payload = token ? await verify(token).catch(() => undefined) : undefined;
      if (!payload) return void res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      jwts.push(payload);
    }
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? transports.get(id) : undefined;
    if (!transport) {
      const server = new McpServer({ name: 'recording-upstream', version: '1.0.0' });
      server.registerTool('echo', { description: 'Echoes', inputSchema: { text: z.string() } }, ({ text }) => ({
        content: [{ type: 'text', text: `upstream says ${text}` }],
      }));
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (sid) => {
          sessions.push(sid);
          transports.set(sid, created);
        },
      });
      transport = created;
      await server.connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    requests,
    sessions,
    jwts,
    requireJwt({ jwksUrl, issuer, audience }) {
      const keys = createRemoteJWKSet(new URL(jwksUrl));
      verify = async (token) => (await jwtVerify(token, keys, { issuer, audience, algorithms: ['ES256'] })).payload;
    },
    async close() {
      for (const transport of transports.values()) await transport.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
