import type { Context, Middleware } from 'koa';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Logger } from '../common/logger.ts';
import { AuthError, IssuerUnavailableError, type BearerVerifier, type CredentialsRequest } from './bearer.ts';
import { DPOP_ALGORITHMS } from './dpop.ts';
import type { ResourceMetrics } from './metrics.ts';
import type { RevocationFeed } from './revocation-feed.ts';
import type { EndpointKind, ServedResource, ServedResources } from './served-resources.ts';
import { challengeHeader, type Challenge } from './www-authenticate.ts';

/** What requireToken leaves on `ctx.state` for the handlers after it. */
export interface TokenState {
  /** The verified caller (also on `ctx.req.auth`, where the SDK's transports read it). */
  auth: AuthInfo;
  /** The resource the request was for: its URL is the token's audience. */
  resource: ServedResource;
}

export interface TokenGateOptions {
  /** The pure token check (bearer.ts): a warm plain Bearer token answers without a promise. */
  verify: BearerVerifier;
  resources: ServedResources;
  metrics: Pick<ResourceMetrics, 'refused'>;
  log: Logger;
  /** MCP_AUTH_DISABLED: every request is served as this caller, without a token. */
  anonymous?: AuthInfo | undefined;
  /** Retry-After (seconds) of the 503 sent while the issuer's keys cannot be fetched. */
  retryAfterSec: number;
  /**
   * The `scope` of a 401 challenge: what a plain client should ask for (the tool registry's
   * basicScopes, never offline_access). Empty: no scope, clients fall back to scopes_supported.
   */
  challengeScopes: readonly string[];
  /**
   * The revocation feed (revocation-feed.ts), asked after every verification, cached ones
   * included: a revoked token gets 401 invalid_token, every token 503 once the list is older
   * than RS_REVOCATION_MAX_STALENESS. Undefined (no RS client): tokens are checked locally only.
   */
  revocations?: Pick<RevocationFeed, 'check'> | undefined;
}

export interface TokenGate {
  /** Koa middleware: verifies the request's token for the `kind` endpoint's resource, or answers 401/503. */
  requireToken(kind: EndpointKind): Middleware;
  /** Answers 401/403 with the challenge for `resource`, and writes the audit line (the caller, when known). */
  refuse(
    ctx: Context,
    resource: ServedResource,
    status: 401 | 403,
    challenge: Omit<Challenge, 'resourceMetadata'>,
    caller?: AuthInfo,
  ): void;
}

/**
 * The gate in front of every MCP endpoint: the token from the Authorization header (never the
 * query), checked for the resource the request was sent to. A refusal is answered here with the
 * RFC 6750 / RFC 9728 challenge (naming that resource's metadata) and an audit log line; a
 * request whose token cannot be checked because the issuer's keys are unreachable gets 503 with
 * Retry-After, so the client keeps its token. On success `ctx.state.auth`, `ctx.state.resource`
 * and `ctx.req.auth` are set and the next handler runs.
 *
 * ```ts source="./require-token.examples.ts#createTokenGate"
 * const gate = createTokenGate({ verify, resources, metrics, log, retryAfterSec: 5, challengeScopes: ['mcp:tools'] });
 * router.post('/mcp', gate.requireToken('mcp'), (ctx) => {
 *   const { auth } = ctx.state as TokenState;
 *   ctx.body = { sub: auth.extra?.sub };
 * });
 * ```
 */
export function createTokenGate(options: TokenGateOptions): TokenGate {
  const { log, metrics } = options;

  const refuse: TokenGate['refuse'] = (ctx, resource, status, challenge, caller) => {
    const full: Challenge = { ...challenge, resourceMetadata: resource.metadataUrl };
    if (!challenge.error && options.challengeScopes.length > 0) full.scope = options.challengeScopes.join(' ');
    if (challenge.scheme === 'DPoP') full.algs = DPOP_ALGORITHMS;
    metrics.refused(status, challenge.error, challenge.description);
    ctx.status = status;
    ctx.set('WWW-Authenticate', challengeHeader(full));
    ctx.body = challenge.error
      ? { error: challenge.error, error_description: challenge.description, scope: challenge.scope }
      : { error: 'unauthorized' };
    const event = status === 403 ? 'step_up.required' : challenge.error ? 'token.rejected' : 'token.missing';
    // No token at all is every client's normal first request (the challenge starts its sign-in): info, not warn.
    log[event === 'token.missing' ? 'info' : 'warn'](
      {
        audit: true,
        event,
        path: ctx.path,
        status,
        error: challenge.error,
        reason: challenge.description,
        scope: challenge.scope,
        sub: caller?.extra?.sub,
        client_id: caller?.clientId,
        ip: ctx.ip,
      },
      'mcp request refused',
    );
  };

  /** 503: the issuer's keys could not be fetched. Not the client's fault, nor its token's. */
  const unavailable = (ctx: Context, error: IssuerUnavailableError) => {
    metrics.refused(503, 'temporarily_unavailable', 'signing keys unavailable');
    ctx.status = 503;
    ctx.set('Retry-After', String(options.retryAfterSec));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      error: 'temporarily_unavailable',
      error_description:
        "the authorization server's signing keys cannot be fetched right now, so the token cannot be checked; keep it and retry later",
    };
    log.warn(
      { audit: true, event: 'token.unverifiable', path: ctx.path, status: 503, url: error.url, err: error.cause ?? error, ip: ctx.ip },
      `mcp request not served: ${error.message}${error.url ? ` (${error.url})` : ''}`,
    );
  };

  /** 503: the revocation list is older than RS_REVOCATION_MAX_STALENESS. The token may be good. */
  const stale = (ctx: Context, caller: AuthInfo) => {
    metrics.refused(503, 'temporarily_unavailable', 'revocation list stale');
    ctx.status = 503;
    ctx.set('Retry-After', String(options.retryAfterSec));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      error: 'temporarily_unavailable',
      error_description:
        "the authorization server's revocation list could not be fetched for too long, so no token is accepted right now; keep it and retry later",
    };
    log.warn(
      {
        audit: true,
        event: 'token.unverifiable',
        path: ctx.path,
        status: 503,
        sub: caller.extra?.sub,
        client_id: caller.clientId,
        ip: ctx.ip,
      },
      'mcp request not served: the revocation list is older than RS_REVOCATION_MAX_STALENESS',
    );
  };

  /** The feed's verdict on a verified caller: undefined when it may go on, after answering otherwise. */
  function checkRevocation(ctx: Context, resource: ServedResource, auth: AuthInfo): AuthInfo | undefined {
    const verdict = options.revocations?.check(auth);
    if (verdict === undefined) return auth;
    if (verdict === 'stale') stale(ctx, auth);
    else refuse(ctx, resource, 401, { scheme: 'Bearer', error: 'invalid_token', description: 'token revoked' }, auth);
    return undefined;
  }

  /** A refused or unverifiable token: answered here. */
  function refused(ctx: Context, resource: ServedResource, error: unknown): undefined {
    if (error instanceof AuthError) refuse(ctx, resource, error.status, error.challenge);
    else if (error instanceof IssuerUnavailableError) unavailable(ctx, error);
    else {
      log.error({ err: error }, 'token verification failed unexpectedly');
      refuse(ctx, resource, 401, { scheme: 'Bearer', error: 'invalid_token', description: 'token could not be verified' });
    }
    return undefined;
  }

  /** The caller, or undefined after answering; a promise only when the verifier needed one (not on a warm Bearer request). */
  function authenticate(ctx: Context, resource: ServedResource): AuthInfo | undefined | Promise<AuthInfo | undefined> {
    if (options.anonymous) return options.anonymous;
    // RFC 6750 §2.3 (query) and §2.2 (form body) are not supported: tokens in URLs end up in logs.
    if (ctx.req.url!.includes('?') && /(?:^|&)access_token=/.test(ctx.querystring)) {
      refuse(ctx, resource, 401, {
        scheme: 'Bearer',
        error: 'invalid_token',
        description: 'tokens are accepted only in the Authorization header',
      });
      return undefined;
    }
    let verdict: AuthInfo | Promise<AuthInfo>;
    try {
      verdict = options.verify(new RequestCredentials(ctx, resource));
    } catch (error) {
      // Ours rejects rather than throws; a verifier that throws is answered the same way.
      return refused(ctx, resource, error);
    }
    if (verdict instanceof Promise) {
      return verdict.then(
        (auth) => checkRevocation(ctx, resource, auth),
        (error: unknown) => refused(ctx, resource, error),
      );
    }
    return checkRevocation(ctx, resource, verdict);
  }

  return {
    refuse,
    requireToken(kind) {
      return async (ctx, next) => {
        const resource = options.resources.resolve(kind, ctx.host);
        const pending = authenticate(ctx, resource);
        const auth = pending instanceof Promise ? await pending : pending;
        if (!auth) return;
        const state = ctx.state as TokenState;
        state.auth = auth;
        state.resource = resource;
        // Where the SDK's transports look for it (they pass it to tools as `extra.authInfo`).
        (ctx.req as typeof ctx.req & { auth?: AuthInfo }).auth = auth;
        await next();
      };
    },
  };
}

/**
 * What the verifier reads from a request. The public URL of the path under the resource the
 * client called (a DPoP proof's `htu`) is a getter: only a DPoP-bound token reads it, so a
 * Bearer request pays no URL parse. A class rather than an object literal with a getter, which
 * V8 builds more slowly on every request.
 */
class RequestCredentials implements CredentialsRequest {
  readonly authorization: string | undefined;
  readonly dpop: string | undefined;
  readonly method: string;
  readonly audience: string;
  readonly #path: string;

  constructor(ctx: Context, resource: ServedResource) {
    const headers = ctx.req.headers;
    this.authorization = headers.authorization || undefined;
    this.dpop = (headers.dpop as string | undefined) || undefined;
    this.method = ctx.method;
    this.audience = resource.url;
    this.#path = ctx.path;
  }

  get url(): string {
    return new URL(this.#path, this.audience).href;
  }
}
