import * as oauth from 'openid-client';
import { z } from 'zod';
import type { Secret } from '../secret.ts';
import { TOOLS_SCOPE } from '../scopes.ts';
import { defineTool, type ToolDefinition } from './registry.ts';

/** RFC 8693 §2.1. */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Seconds the auth server and the upstream each get; a hung one must not hold the tool call. */
const TIMEOUT_SECONDS = 10;

export interface UpstreamProfileOptions {
  /** The auth server (AUTH_ISSUER): its RFC 8414 metadata names the token endpoint. */
  issuer: string;
  /** This server's own confidential client there (RS_CLIENT_ID/RS_CLIENT_SECRET). */
  client: { id: string; secret: Secret };
  /** RS_UPSTREAM_USERINFO: the upstreams (their AUTH_UPSTREAMS ids) and where each serves userinfo. */
  upstreams: { id: string; url: string }[];
}

/**
 * The `upstream_profile` demo tool: what an MCP server does to call another API as the user. It
 * exchanges the token the tool was called with at the auth server (RFC 8693, authenticated as
 * this server's own client, `audience` = the upstream's id) for the user's kept upstream token,
 * then reads the upstream's userinfo with it. The caller's token itself never leaves for the
 * upstream. A refusal (nothing kept, the upstream revoked it) is a tool error naming what to do.
 *
 * ```ts source="./upstream-profile.examples.ts#upstreamProfile"
 * const tools = createToolRegistry([
 *   ...demoTools.tools,
 *   upstreamProfile({
 *     issuer: 'https://auth.example',
 *     client: { id: 'mcp-resource-server', secret: new Secret(process.env.RS_CLIENT_SECRET!) },
 *     upstreams: [{ id: 'github', url: 'https://api.github.com/user' }],
 *   }),
 * ]);
 * ```
 */
export function upstreamProfile(options: UpstreamProfileOptions): ToolDefinition {
  const ids = options.upstreams.map((upstream) => upstream.id);
  let configuration: Promise<oauth.Configuration> | undefined;
  const authServer = async () => {
    configuration ??= oauth
      .discovery(new URL(options.issuer), options.client.id, undefined, oauth.ClientSecretBasic(options.client.secret.reveal()), {
        algorithm: 'oauth2',
        execute: options.issuer.startsWith('http://') ? [oauth.allowInsecureRequests] : [],
        timeout: TIMEOUT_SECONDS,
      })
      .catch((error: unknown) => {
        configuration = undefined; // retried on the next call
        throw error;
      });
    return configuration;
  };

  return defineTool({
    name: 'upstream_profile',
    title: 'Upstream profile',
    description: `Returns your profile at an upstream identity provider you signed in through (${ids.join(', ')}), read with the token the authorization server keeps for you there.`,
    inputSchema: z.object({
      upstream: z
        .enum(ids as [string, ...string[]])
        .optional()
        .describe(`Which upstream (default: ${ids[0]})`),
    }),
    requiredScopes: [TOOLS_SCOPE],
    run: async ({ upstream: id }, ctx) => {
      const upstream = options.upstreams.find((u) => u.id === (id ?? ids[0]))!;
      const token = ctx.http?.authInfo?.token;
      if (!token) return failure('this call carries no access token to exchange');
      let exchanged: oauth.TokenEndpointResponse;
      try {
        exchanged = await oauth.genericGrantRequest(await authServer(), TOKEN_EXCHANGE, {
          subject_token: token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          requested_token_type: ACCESS_TOKEN_TYPE,
          audience: upstream.id,
        });
      } catch (error) {
        if (error instanceof oauth.ResponseBodyError) {
          return failure(`the authorization server refused the exchange (${error.error}): ${error.error_description ?? 'no reason given'}`);
        }
        return failure(`the authorization server could not be reached for the exchange: ${(error as Error).message}`);
      }
      let response: Response;
      try {
        response = await fetch(upstream.url, {
          headers: { authorization: `Bearer ${exchanged.access_token}`, accept: 'application/json' },
          signal: AbortSignal.timeout(TIMEOUT_SECONDS * 1000),
        });
      } catch (error) {
        return failure(`${upstream.id} could not be reached at ${upstream.url}: ${(error as Error).message}`);
      }
      const profile = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      if (!response.ok || typeof profile !== 'object' || profile === null) {
        return failure(`${upstream.id} answered ${response.status} at ${upstream.url}`);
      }
      return {
        content: [{ type: 'text', text: JSON.stringify({ upstream: upstream.id, profile }) }],
        structuredContent: { upstream: upstream.id, profile },
      };
    },
  });
}

function failure(reason: string) {
  return { isError: true, content: [{ type: 'text' as const, text: `upstream_profile: ${reason}` }] };
}
