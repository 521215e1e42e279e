// The conformance adapter: `conformance client --command "node client/conformance.ts"` runs this
// with the scenario's MCP URL as the last argument and MCP_CONFORMANCE_SCENARIO /
// MCP_CONFORMANCE_CONTEXT in the environment. It drives the same Session (discovery,
// registration, cache, refresh, step-up) as the CLI; its "browser" follows the authorization
// URL over HTTP, since the suite's mock authorization server approves without a user.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from './args.ts';
import { idJagSource } from './commands.ts';
import type { IdJagSource } from './grants.ts';
import { makeFetch } from './http.ts';
import { callTool, connect, listTools } from './mcp.ts';
import { Session } from './session.ts';
import { Store } from './store.ts';

/** The suite's fixed Client ID Metadata Document URL (its mock AS accepts it without fetching). */
const CONFORMANCE_CIMD_URL = 'https://conformance-test.local/client-metadata.json';

const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}') as Record<string, string | undefined>;
const serverUrl = new URL(process.argv.at(-1)!);
const say = (line: string) => process.stderr.write(`${line}\n`);
const fetchImpl = makeFetch(process.env.MCP_CONFORMANCE_VERBOSE === '1', say);

/** The user's browser: request the authorization URL, follow its redirect to our loopback callback. */
async function followOverHttp(url: string): Promise<void> {
  let next = url;
  for (let hop = 0; hop < 5; hop++) {
    const response = await fetch(next, { redirect: 'manual' });
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) return;
    next = new URL(location, next).href;
    if (new URL(next).hostname === '127.0.0.1' && new URL(next).pathname === '/callback') {
      await (await fetch(next)).body?.cancel();
      return;
    }
  }
}

const dir = await mkdtemp(join(tmpdir(), 'mcp-oauth-conformance-'));
// auth/client-credentials-jwt hands us a private key: into a 0600 file, as a user would keep it.
let clientKeyFile: string | undefined;
if (context.private_key_pem) {
  clientKeyFile = join(dir, 'client-key.pem');
  await writeFile(clientKeyFile, context.private_key_pem, { mode: 0o600 });
}
// auth/enterprise-managed-authorization: the ID token into a 0600 file, then the options as
// `mcp-oauth login --id-jag-idp URL --id-token FILE --idp-client-id ID` parses and reads them.
let idJag: IdJagSource | undefined;
if (context.idp_token_endpoint && context.idp_id_token) {
  const idTokenFile = join(dir, 'id-token.jwt');
  await writeFile(idTokenFile, context.idp_id_token, { mode: 0o600 });
  const idpArgs = ['--id-jag-idp', context.idp_token_endpoint, '--id-token', idTokenFile];
  if (context.idp_client_id) idpArgs.push('--idp-client-id', context.idp_client_id);
  idJag = await idJagSource(parse(['login', serverUrl.href, ...idpArgs]));
}
const clientCredentials = scenario.startsWith('auth/client-credentials');
const session = new Session(serverUrl, {
  store: new Store(join(dir, 'mcp-oauth-stack')),
  fetch: fetchImpl,
  interactive: true,
  flow: 'browser',
  clientCredentials,
  idJag,
  // auth/dpop and auth/dpop-nonce: what `mcp-oauth login --dpop` does.
  dpop: scenario.startsWith('auth/dpop'),
  clientId: context.client_id,
  clientSecret: context.client_secret,
  clientKeyFile,
  signingAlgorithm: context.signing_algorithm,
  clientMetadataUrl: CONFORMANCE_CIMD_URL,
  open: followOverHttp,
  say,
});

let code = 0;
try {
  const client = await connect(serverUrl, session.fetch);
  try {
    const tools = await listTools(client, serverUrl);
    // One call per tool: scenarios put their per-operation scopes (step-up) on tools/call.
    for (const tool of tools) await callTool(client, serverUrl, tool.name, {});
  } finally {
    await client.close().catch(() => undefined);
  }
} catch (error) {
  say(`conformance client (${scenario}): ${(error as Error).message}`);
  code = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(code);
