import express from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { createJwtVerifier } from './verifier.ts';

/**
 * A minimal MCP server, written with the MCP TypeScript SDK alone, protected by the
 * mcp-oauth-stack auth server. Copy this directory; nothing here imports from the rest of the repo.
 *
 * The auth server must know this server's URL as a resource (AUTH_EXTRA_RESOURCES) and grant the
 * scopes it needs (AUTH_RESOURCE_SCOPES), else it refuses to issue tokens for it (invalid_target).
 */
export interface ExampleServerOptions {
  /** The auth server's issuer URL (AUTH_ISSUER). */
  issuer: string;
  /** This server's public MCP endpoint URL, path included (`http://localhost:4000/mcp`). */
  url: string;
  /** Scopes to publish and to require; default mcp:tools. */
  scopes?: string[];
}

export async function createExampleServer(options: ExampleServerOptions): Promise<express.Express> {
  const url = new URL(options.url);
  const scopes = options.scopes ?? ['mcp:tools'];
  // The PRM router wants the AS metadata (it also serves a copy at /.well-known/oauth-authorization-server).
  const response = await fetch(new URL('/.well-known/oauth-authorization-server', options.issuer));
  if (!response.ok) throw new Error(`cannot read the auth server's metadata at ${options.issuer}: ${response.status}`);
  const oauthMetadata = (await response.json()) as OAuthMetadata;

  const app = express();
  app.use(express.json());
  // RFC 9728: /.well-known/oauth-protected-resource/mcp → { resource: url, authorization_servers: [issuer], scopes_supported }.
  app.use(mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl: url, scopesSupported: scopes, resourceName: 'Example SDK server' }));

  const bearer = requireBearerAuth({
    verifier: createJwtVerifier({
      issuer: options.issuer,
      audience: url.href,
      jwksUrl: typeof oauthMetadata.jwks_uri === 'string' ? oauthMetadata.jwks_uri : undefined,
    }),
    requiredScopes: scopes,
    // Named in every 401, so a client finds the metadata and from it the auth server.
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(url),
    expectedResource: url,
  });

  // Stateless: a server and a transport per request (the SDK's own stateless pattern).
  app.post(url.pathname, bearer, async (req, res) => {
    const server = new McpServer({ name: 'example-sdk-server', version: '1.0.0' });
    server.registerTool(
      'whoami',
      { description: 'Who the token says you are', inputSchema: { greeting: z.string().optional() } },
      ({ greeting }, extra) => ({
        content: [
          {
            type: 'text',
            text: `${greeting ?? 'Hello'}, ${String(extra.authInfo?.extra?.sub)} (scopes: ${extra.authInfo?.scopes.join(' ')})`,
          },
        ],
      }),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // No GET stream and no DELETE without sessions (the transport spec allows 405).
  app.all(url.pathname, bearer, (_req, res) => void res.status(405).set('Allow', 'POST').end());
  return app;
}

// `node examples/sdk-server/server.ts`: AUTH_ISSUER (http://localhost:3000), MCP_URL (http://localhost:4000/mcp).
if (import.meta.main) {
  const issuer = process.env.AUTH_ISSUER ?? 'http://localhost:3000';
  const url = new URL(process.env.MCP_URL ?? 'http://localhost:4000/mcp');
  const app = await createExampleServer({ issuer, url: url.href });
  app.listen(Number(url.port || 80), 'localhost', () => console.log(`MCP server at ${url.href}, tokens from ${issuer}`));
}
