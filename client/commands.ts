import { readFile } from 'node:fs/promises';
import * as oauth from 'oauth4webapi';
import ProgressBar from 'progress';
import type { Progress } from '@modelcontextprotocol/client';
import { toolArguments, type Parsed } from './args.ts';
import { openBrowser } from './browser.ts';
import { discoverAuthorizationServer } from './discovery.ts';
import { CliError, checkTransport, makeFetch, oauthOptions } from './http.ts';
import { callTool, connect, listTools } from './mcp.ts';
import type { IdJagSource } from './grants.ts';
import { clientAuth, describeOAuthError } from './registration.ts';
import { wantsQr } from './qr.ts';
import { Session } from './session.ts';
import type { Store, TokenRecord } from './store.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Can a person answer here (sign in at a prompt)? */
  interactive: boolean;
  stderrIsTty: boolean;
  store: Store;
}

function mcpUrlOf(value: string | undefined, command: string): URL {
  if (!value) throw new CliError(`${command} needs the MCP server URL, e.g. mcp-oauth ${command} http://localhost:3001/mcp`, 2);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${value} is not a URL (expected e.g. http://localhost:3001/mcp)`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`${value} is not an http(s) URL`, 2);
  url.hash = '';
  return url;
}

/**
 * --id-jag-idp TOKEN_ENDPOINT --id-token FILE: Enterprise-Managed Authorization. The ID token is
 * read from a file, never from the command line, where other users could see it in `ps`.
 */
export async function idJagSource(parsed: Parsed): Promise<IdJagSource | undefined> {
  if (parsed.idJagIdp === undefined && parsed.idToken === undefined) {
    if (parsed.idpClientId !== undefined || parsed.idpClientSecret !== undefined)
      throw new CliError('--idp-client-id and --idp-client-secret go with --id-jag-idp', 2);
    return undefined;
  }
  if (!parsed.idJagIdp || !parsed.idToken) throw new CliError('--id-jag-idp and --id-token go together', 2);
  if (parsed.clientCredentials) throw new CliError('--id-jag-idp and --client-credentials exclude each other', 2);
  let endpoint: URL;
  try {
    endpoint = new URL(parsed.idJagIdp);
  } catch {
    throw new CliError(`--id-jag-idp ${parsed.idJagIdp} is not a URL (expected the IdP's token endpoint)`, 2);
  }
  checkTransport(endpoint, 'the IdP token endpoint');
  const idToken = (
    await readFile(parsed.idToken, 'utf8').catch((error: Error) => {
      throw new CliError(`cannot read the ID token ${parsed.idToken}: ${error.message}`, 2);
    })
  ).trim();
  if (!idToken) throw new CliError(`the ID token file ${parsed.idToken} is empty`, 2);
  return { tokenEndpoint: endpoint.href, idToken, idpClientId: parsed.idpClientId, idpClientSecret: parsed.idpClientSecret };
}

async function session(url: URL, parsed: Parsed, io: Io, interactive: boolean): Promise<Session> {
  if (parsed.clientCredentials && (!parsed.clientId || !(parsed.clientSecret || parsed.clientKey)))
    throw new CliError('--client-credentials needs --client-id and --client-secret (or --client-key FILE)', 2);
  const fetchImpl = makeFetch(parsed.verbose, io.err);
  return new Session(url, {
    store: io.store,
    fetch: fetchImpl,
    interactive,
    flow: parsed.device ? 'device' : parsed.browser ? 'browser' : 'auto',
    clientCredentials: parsed.clientCredentials,
    idJag: await idJagSource(parsed),
    dpop: parsed.dpop,
    scope: parsed.scope,
    clientId: parsed.clientId,
    clientSecret: parsed.clientSecret,
    clientKeyFile: parsed.clientKey,
    clientMetadataUrl: parsed.clientMetadataUrl,
    open: parsed.noOpen ? () => undefined : (u) => openBrowser(u),
    say: io.err,
    qr: wantsQr(parsed, io.stderrIsTty),
  });
}

async function withClient<T>(url: URL, parsed: Parsed, io: Io, fn: (client: Awaited<ReturnType<typeof connect>>) => Promise<T>) {
  if (!parsed.noAuth) checkTransport(url, 'the MCP server');
  const fetchImpl = parsed.noAuth ? makeFetch(parsed.verbose, io.err) : (await session(url, parsed, io, io.interactive)).fetch;
  const client = await connect(url, fetchImpl);
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function login(parsed: Parsed, io: Io): Promise<number> {
  const url = mcpUrlOf(parsed.positionals[0], 'login');
  checkTransport(url, 'the MCP server');
  const s = await session(url, parsed, io, true);
  const record = await s.login();
  if (parsed.json) io.out(JSON.stringify(describe(record)));
  else io.out(`Signed in to ${url.href} as ${record.user ?? 'unknown user'} (${record.scope || 'no scope'}) at ${record.issuer}`);
  return 0;
}

export async function tools(parsed: Parsed, io: Io): Promise<number> {
  const url = mcpUrlOf(parsed.positionals[0], 'tools');
  const list = await withClient(url, parsed, io, (client) => listTools(client, url));
  if (parsed.json) io.out(JSON.stringify(list, null, 2));
  else if (!list.length) io.out('(no tools)');
  else {
    const width = Math.max(...list.map((t) => t.name.length));
    for (const tool of list) io.out(`${tool.name.padEnd(width)}  ${tool.description?.split('\n')[0] ?? ''}`.trimEnd());
  }
  return 0;
}

export async function call(parsed: Parsed, io: Io): Promise<number> {
  const url = mcpUrlOf(parsed.positionals[0], 'call');
  const name = parsed.positionals[1];
  if (!name) throw new CliError('call needs a tool name: mcp-oauth call <mcp-url> <tool> [--arg key=value]…', 2);
  return withClient(url, parsed, io, async (client) => {
    const available = await listTools(client, url);
    const tool = available.find((t) => t.name === name);
    if (!tool) throw new CliError(`unknown tool "${name}" at ${url.href} (tools: ${available.map((t) => t.name).join(', ') || 'none'})`);
    const args = toolArguments(parsed.args, parsed.argsJson, tool.inputSchema as never);
    const progress = progressReporter(io);
    const result = await callTool(client, url, name, args, progress.update);
    progress.done();
    if (parsed.json) io.out(JSON.stringify(result, null, 2));
    else {
      for (const item of result.content ?? []) {
        if (item.type === 'text') io.out(item.text);
        else io.out(`[${item.type}${'mimeType' in item ? ` ${item.mimeType}` : ''}]`);
      }
      if (result.structuredContent && !(result.content ?? []).length) io.out(JSON.stringify(result.structuredContent, null, 2));
    }
    return result.isError ? 1 : 0;
  });
}

/** A bar on a terminal; plain lines (one per notification) when stderr is a file or a pipe. */
function progressReporter(io: Io): { update: (p: Progress) => void; done: () => void } {
  let bar: ProgressBar | undefined;
  return {
    update(p) {
      if (!io.stderrIsTty) {
        io.err(`progress ${p.progress}${p.total !== undefined ? `/${p.total}` : ''}${p.message ? ` ${p.message}` : ''}`);
        return;
      }
      if (p.total === undefined) return;
      bar ??= new ProgressBar('[:bar] :percent :msg', { total: p.total, width: 30, stream: process.stderr, clear: true });
      bar.update(Math.min(1, p.progress / p.total), { msg: p.message ?? '' });
    },
    done() {
      if (bar && !bar.complete) bar.terminate();
    },
  };
}

export async function logout(parsed: Parsed, io: Io): Promise<number> {
  const url = mcpUrlOf(parsed.positionals[0], 'logout');
  const record = await io.store.tokensFor(url.href);
  if (!record) {
    io.out(`Not signed in to ${url.href}.`);
    return 0;
  }
  const fetchImpl = makeFetch(parsed.verbose, io.err);
  let revoked = false;
  try {
    const as = await discoverAuthorizationServer(record.issuer, fetchImpl);
    const client = await io.store.getClient(record.issuer);
    if (as.revocation_endpoint && client && client.client_id === record.client_id) {
      // Revoking the refresh token ends the grant (RFC 7009 §2.1); the short-lived JWT access
      // token is not stored at the AS and cannot be revoked, so it is sent only when it is all we have.
      const [token, hint] = record.refresh_token ? [record.refresh_token, 'refresh_token'] : [record.access_token, 'access_token'];
      const response = await oauth.revocationRequest(as, { client_id: client.client_id }, clientAuth(client), token, {
        additionalParameters: { token_type_hint: hint },
        ...oauthOptions(fetchImpl, as.revocation_endpoint),
      });
      await oauth.processRevocationResponse(response);
      revoked = true;
    }
  } catch (error) {
    io.err(`warning: could not revoke at ${record.issuer}: ${describeOAuthError(error)} (forgetting the sign-in anyway)`);
  }
  await io.store.forgetTokens(record.issuer, record.resource);
  io.out(`Signed out of ${url.href}${revoked ? ' (tokens revoked at the authorization server)' : ''}.`);
  return 0;
}

function describe(record: TokenRecord, now = Date.now()) {
  return {
    server: record.mcpUrl,
    issuer: record.issuer,
    user: record.user ?? null,
    scopes: record.scope?.split(' ').filter(Boolean) ?? [],
    expires_at: record.expires_at ? new Date(record.expires_at * 1000).toISOString() : null,
    expired: record.expires_at !== undefined && record.expires_at * 1000 <= now,
    refreshable: !!record.refresh_token,
  };
}

export async function status(parsed: Parsed, io: Io): Promise<number> {
  const records = (await io.store.allTokens()).map((r) => describe(r));
  if (parsed.json) {
    io.out(JSON.stringify(records, null, 2));
    return 0;
  }
  if (!records.length) {
    io.out(`No sign-ins cached (in ${io.store.dir}).`);
    return 0;
  }
  for (const r of records) {
    io.out(r.server);
    io.out(`  issuer:  ${r.issuer}`);
    io.out(`  user:    ${r.user ?? 'unknown'}`);
    io.out(`  scopes:  ${r.scopes.join(' ') || '(none)'}`);
    io.out(
      `  expires: ${r.expires_at ?? 'unknown'}${r.expired ? ' (expired' + (r.refreshable ? ', will refresh' : '') + ')' : ''}${r.refreshable ? '' : ' (no refresh token)'}`,
    );
  }
  return 0;
}
