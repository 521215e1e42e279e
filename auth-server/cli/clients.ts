import { readFile } from 'node:fs/promises';
import { checkCommand, parseStrict, UsageError, type CommandTable } from './command-line.ts';
import type { Writable } from 'node:stream';
import { ConfigError } from '../../common/config-error.ts';
import { isMain } from '../../common/is-main.ts';
import { loadConfig, loadStorageConfig } from '../config.ts';
import { ALLOWED_RESOURCES, DISABLED, RESOURCE_SERVER, VERIFIED } from '../provider/client-marks.ts';
import { isHashedClientSecret } from '../provider/client-secret-hash.ts';
import type { OperatorClientAuth } from '../provider/operator-clients.ts';
import { openStorage } from '../storage/open-storage.ts';
import { revocationContext } from '../revocation/context.ts';
import { disableClient, enableClient, removeClient } from '../revocation/revocations.ts';
import type { ModelPayload, Storage } from '../storage/store.ts';

const USAGE = `usage: npm run clients -- <command>

  add --name N --grant G… --auth M [--jwks-file F | --jwks-uri U] [--scope "S…"] [--role R]…
      [--redirect-uri URI]… [--resource URL]… [--verified] [--resource-server] [--client-id ID] [--json]
           create a client the operator answers for. --grant may be repeated: client_credentials
           (tokens without a user: sub = its client id; needs --scope), jwt-bearer (redeems ID-JAGs
           from the enterprise IdPs of AUTH_TRUSTED_IDPS; set it here too), authorization_code
           (needs --redirect-uri, repeatable) and refresh_token (with authorization_code).
           --auth client_secret_basic | client_secret_post makes a secret, shown only now;
           --auth private_key_jwt signs client assertions (RFC 7523) with the keys of a public
           JWKS file (--jwks-file) or URL (--jwks-uri, https). --secret and --secret-post are
           short for the two secret methods; --jwks-file/--jwks-uri alone imply private_key_jwt.
           --role may be repeated; the roles go into its client_credentials tokens.
           --resource (repeatable) restricts its tokens to these resources.
           --verified: the operator vouches for its name; the consent page does not call it unverified.
           --client-id: this id instead of a generated mc_… one (e.g. the id the client has at an
           enterprise IdP whose ID-JAGs name it); an id already taken is refused.
  add --name N --resource-server --secret [--json]
           create a resource server's own client: it may introspect every client's tokens.
  list [--json]
           the operator's clients: id, name, auth method, scope, roles, state
  show <client_id> [--json]
           one client's settings (never its secret)
  disable <client_id> / enable <client_id>
           a disabled client gets invalid_client everywhere until enabled again; resource
           servers refuse the access tokens it had (the revocation feed)
  remove <client_id>
           delete a client

Secrets are stored hashed (SHA-256): shown once by add, never again, and a copy of DATA_DIR or the
database does not reveal them. So client_secret_jwt, which needs the plain secret on the server, is
not offered: use private_key_jwt. With --json, stdout carries only JSON (for add: the client, with client_secret).
Reads DATA_DIR (default ./data) or DATABASE_URL, like the server. Exit codes: 0 done, 1 refused
(unknown client, settings the server would not accept), 2 bad usage.
example: npm run clients -- add --name "nightly report" --grant client_credentials --secret --scope mcp:tools --json`;

export interface ClientsCliIo {
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
}

/** Bad command line: one line on stderr and exit code 2. */
/** Refused by the data (unknown client): exit code 1. */
class RefusedError extends Error {}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  name: { type: 'string' },
  grant: { type: 'string', multiple: true },
  scope: { type: 'string' },
  role: { type: 'string', multiple: true },
  secret: { type: 'boolean' },
  'secret-post': { type: 'boolean' },
  'jwks-file': { type: 'string' },
  'jwks-uri': { type: 'string' },
  'resource-server': { type: 'boolean' },
  auth: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  resource: { type: 'string', multiple: true },
  verified: { type: 'boolean' },
  'client-id': { type: 'string' },
} as const;

/** Which options each command takes; anything else is a usage error rather than silently ignored. */
const ALLOWED: CommandTable = {
  add: {
    operands: 0,
    options: [
      'json',
      'name',
      'grant',
      'scope',
      'role',
      'secret',
      'secret-post',
      'jwks-file',
      'jwks-uri',
      'resource-server',
      'auth',
      'redirect-uri',
      'resource',
      'verified',
      'client-id',
    ],
  },
  list: { operands: 0, options: ['json'] },
  show: { operands: 1, options: ['json'] },
  disable: { operands: 1, options: [] },
  enable: { operands: 1, options: [] },
  remove: { operands: 1, options: [] },
};

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** The grants an operator's client may have (short name → grant type). */
const GRANTS = new Map([
  ['client_credentials', 'client_credentials'],
  ['jwt-bearer', JWT_BEARER],
  [JWT_BEARER, JWT_BEARER],
  ['authorization_code', 'authorization_code'],
  ['refresh_token', 'refresh_token'],
]);
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
type AuthMethod = (typeof AUTH_METHODS)[number];
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The `npm run clients` command, callable in-process. Returns the exit code; never throws for
 * anything the user did.
 *
 * ```ts source="./clients.examples.ts#runClientsCli"
 * process.exitCode = await runClientsCli(['list'], { stdout: process.stdout, stderr: process.stderr, env: process.env });
 * ```
 */
export async function runClientsCli(argv: string[], io: ClientsCliIo): Promise<number> {
  let parsed;
  let addRequest: Awaited<ReturnType<typeof parseAdd>> | undefined;
  try {
    parsed = parseCommand(argv);
    if (parsed !== 'help' && parsed.command === 'add') addRequest = await parseAdd(parsed.values);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`clients: ${error.message} (npm run clients -- --help)\n`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let storage: Storage;
  try {
    storage = await openStorage(loadStorageConfig(io.env));
  } catch (error) {
    io.stderr.write(`clients: cannot open storage: ${(error as Error).message}\n`);
    return 1;
  }
  const json = parsed.values.json === true;
  const [clientId = ''] = parsed.operands;
  try {
    switch (parsed.command) {
      case 'add': {
        // oidc-provider is loaded for add alone: every other command stays quick.
        const { buildOperatorClient, clientCheckingProvider, InvalidOperatorClientError } = await import('../provider/operator-clients.ts');
        const provider = await clientCheckingProvider(loadConfig(io.env), storage);
        if (addRequest!.clientId !== undefined && (await storage.models.find('Client', addRequest!.clientId))) {
          throw new RefusedError(`a client with id "${addRequest!.clientId}" exists already; remove it first or choose another id`);
        }
        let built: ReturnType<typeof buildOperatorClient>;
        try {
          built = buildOperatorClient(provider, addRequest!);
        } catch (error) {
          if (error instanceof InvalidOperatorClientError) throw new RefusedError(error.message);
          throw error;
        }
        const { payload, secret } = built;
        await storage.models.upsert('Client', payload.client_id as string, payload, undefined);
        io.stdout.write(json ? `${JSON.stringify(view(payload, secret))}\n` : describeNew(payload, secret));
        return 0;
      }
      case 'list': {
        const clients = (await storage.models.list('Client')).map((row) => row.payload).filter(isOperatorKind);
        io.stdout.write(json ? `${JSON.stringify(clients.map((c) => view(c)))}\n` : table(clients));
        return 0;
      }
      case 'show': {
        const payload = await mustFind(storage, clientId);
        io.stdout.write(json ? `${JSON.stringify(view(payload))}\n` : `${JSON.stringify(view(payload), null, 2)}\n`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        await mustFind(storage, clientId);
        // Through revocations.ts: disabling also feeds the revocation feed, so resource servers
        // refuse the client's access tokens issued before now.
        const ctx = revocationContext(loadConfig(io.env), storage);
        if (parsed.command === 'disable') await disableClient(ctx, clientId, 'cli');
        else await enableClient(ctx, clientId, 'cli');
        io.stderr.write(`${parsed.command}d ${clientId}\n`);
        return 0;
      }
      case 'remove': {
        await mustFind(storage, clientId);
        // Through revocations.ts, like disable: resource servers refuse the tokens it had.
        await removeClient(revocationContext(loadConfig(io.env), storage), clientId, 'cli');
        io.stderr.write(`removed ${clientId}\n`);
        return 0;
      }
      default:
        throw new Error(`unhandled command ${parsed.command}`);
    }
  } catch (error) {
    if (error instanceof RefusedError) {
      io.stderr.write(`clients: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`clients: cannot read the server's configuration: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await storage.close();
  }
}

type Values = ReturnType<typeof parseStrict<typeof OPTIONS>>['values'];

function parseCommand(argv: string[]): 'help' | { command: string; operands: string[]; values: Values } {
  const { values, positionals } = parseStrict(argv, OPTIONS);
  const checked = checkCommand(positionals, values, ALLOWED, 'client_id');
  return checked === 'help' ? 'help' : { ...checked, values };
}

/** Everything about `add` that can be checked without storage, as a request for buildOperatorClient. */
async function parseAdd(values: Values) {
  const name = values.name?.trim();
  if (!name) throw new UsageError('add needs --name');
  const resourceServer = values['resource-server'] === true;
  for (const grant of values.grant ?? []) {
    if (!GRANTS.has(grant)) {
      throw new UsageError(
        `--grant ${grant} is not for operator clients (only ${[...GRANTS.keys()].filter((g) => !g.includes(':')).join(', ')})`,
      );
    }
  }
  const grants = [...new Set((values.grant ?? []).map((grant) => GRANTS.get(grant)!))];
  if (grants.length === 0 && !resourceServer)
    throw new UsageError('add needs --grant (client_credentials, jwt-bearer, authorization_code) or --resource-server');
  if (grants.includes('client_credentials') && !values.scope?.trim()) throw new UsageError('a client_credentials client needs --scope');
  if (grants.includes('refresh_token') && !grants.includes('authorization_code')) {
    throw new UsageError('--grant refresh_token goes with --grant authorization_code');
  }
  const redirectUris = values['redirect-uri'] ?? [];
  if (grants.includes('authorization_code') && redirectUris.length === 0) {
    throw new UsageError('an authorization_code client needs --redirect-uri');
  }
  if (!grants.includes('authorization_code') && redirectUris.length > 0) {
    throw new UsageError('--redirect-uri is only for --grant authorization_code');
  }
  for (const uri of [...redirectUris, ...(values.resource ?? [])]) {
    if (!URL.canParse(uri)) throw new UsageError(`not a URL: ${uri}`);
  }
  const clientId = values['client-id'];
  if (clientId !== undefined && !/^[\x21-\x7e]{1,200}$/.test(clientId)) {
    throw new UsageError('--client-id must be 1–200 printable characters without spaces');
  }
  return {
    name,
    clientId,
    grantTypes: grants,
    scope: values.scope?.trim().split(/\s+/).join(' '),
    roles: values.role ?? [],
    resourceServer,
    redirectUris,
    allowedResources: values.resource?.length ? [...new Set(values.resource)] : undefined,
    verified: values.verified === true,
    auth: await authOf(authMethodOf(values), values),
  };
}

/** --auth, or its shorthands: --secret, --secret-post, or a JWKS alone (private_key_jwt). */
function authMethodOf(values: Values): AuthMethod {
  const named = [
    values.auth,
    values.secret ? 'client_secret_basic' : undefined,
    values['secret-post'] ? 'client_secret_post' : undefined,
  ].filter((m) => m !== undefined);
  if (named.length > 1) throw new UsageError('name the auth method once: --auth, --secret or --secret-post');
  const keySources = (['jwks-file', 'jwks-uri'] as const).filter((key) => values[key] !== undefined);
  const method = named[0] ?? (keySources.length ? 'private_key_jwt' : undefined);
  if (method === undefined) throw new UsageError(`add needs --auth (${AUTH_METHODS.join(', ')})`);
  if (method === 'client_secret_jwt') {
    throw new UsageError(
      '--auth client_secret_jwt needs the plain secret on the server, and operator secrets are stored hashed: use --auth private_key_jwt',
    );
  }
  if (!(AUTH_METHODS as readonly string[]).includes(method))
    throw new UsageError(`--auth ${method}: use one of ${AUTH_METHODS.join(', ')}`);
  if (method === 'private_key_jwt' && keySources.length !== 1) {
    throw new UsageError('--auth private_key_jwt needs exactly one of --jwks-file, --jwks-uri');
  }
  if (method !== 'private_key_jwt' && keySources.length > 0) throw new UsageError(`--${keySources[0]} is only for --auth private_key_jwt`);
  return method as AuthMethod;
}

async function authOf(method: AuthMethod, values: Values): Promise<OperatorClientAuth> {
  if (method !== 'private_key_jwt') return { method };
  if (values['jwks-file'] !== undefined) return { method, jwks: await readJwks(values['jwks-file']) };
  const uri = values['jwks-uri']!;
  const url = URL.parse(uri);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))) {
    throw new UsageError(`--jwks-uri must be an https URL (http only on loopback): ${uri}`);
  }
  return { method, jwksUri: url.href };
}

/** A public JWKS (or one public JWK) from a file; a private key there is an operator's slip, refused. */
async function readJwks(path: string): Promise<{ keys: unknown[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --jwks-file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--jwks-file ${path} is not JSON`);
  }
  const jwks =
    isObject(parsed) && Array.isArray(parsed.keys)
      ? (parsed as { keys: unknown[] })
      : isObject(parsed) && 'kty' in parsed
        ? { keys: [parsed] }
        : undefined;
  if (!jwks || jwks.keys.length === 0) throw new UsageError(`--jwks-file ${path} holds no JWK Set ({"keys": [...]})`);
  if (jwks.keys.some((key) => isObject(key) && ('d' in key || 'k' in key))) {
    throw new UsageError(`--jwks-file ${path} holds a private or symmetric key; give the public keys only`);
  }
  return jwks;
}

async function mustFind(storage: Storage, clientId: string): Promise<ModelPayload> {
  const payload = await storage.models.find('Client', clientId);
  if (!payload) throw new RefusedError(`no client with id "${clientId}"`);
  return payload;
}

/**
 * The clients this command is about: those it made (`mc_` ids, newClientId), machine clients and
 * resource servers (also from registration with the initial access token or RS_CLIENT_ID), not
 * registered apps.
 */
function isOperatorKind(payload: ModelPayload): boolean {
  const grants = Array.isArray(payload.grant_types) ? payload.grant_types : [];
  return (
    String(payload.client_id).startsWith('mc_') ||
    grants.includes('client_credentials') ||
    grants.includes(JWT_BEARER) ||
    payload[RESOURCE_SERVER] === true
  );
}

/**
 * What the CLI shows of a client: the secret only at creation (`secret`, which the store never
 * had); afterwards only how it is stored (`hashed`, or `plain` for a client made before hashing),
 * never the stored value.
 */
function view(payload: ModelPayload, secret?: string) {
  return {
    client_id: payload.client_id,
    ...(secret ? { client_secret: secret } : {}),
    ...(typeof payload.client_secret === 'string'
      ? { client_secret_stored: isHashedClientSecret(payload.client_secret) ? 'hashed' : 'plain' }
      : {}),
    client_name: payload.client_name,
    token_endpoint_auth_method: payload.token_endpoint_auth_method,
    grant_types: payload.grant_types,
    scope: payload.scope,
    roles: payload.roles ?? [],
    resource_server: payload[RESOURCE_SERVER] === true,
    ...(payload.jwks_uri ? { jwks_uri: payload.jwks_uri } : {}),
    ...(Array.isArray(payload.redirect_uris) && payload.redirect_uris.length ? { redirect_uris: payload.redirect_uris } : {}),
    ...(payload[ALLOWED_RESOURCES] ? { allowed_resources: payload[ALLOWED_RESOURCES] } : {}),
    verified: payload[VERIFIED] === true,
    disabled: payload[DISABLED] === true,
  };
}

function describeNew(payload: ModelPayload, secret?: string): string {
  const lines = [`added ${payload.client_name} — client_id: ${payload.client_id}`];
  if (secret) lines.push(`client_secret: ${secret}`, '(the secret is shown only now and stored hashed; keep it where the client runs)');
  lines.push(
    `auth: ${payload.token_endpoint_auth_method}  scope: ${payload.scope ?? '-'}  roles: ${(payload.roles as string[] | undefined)?.join(',') || '-'}`,
  );
  return `${lines.join('\n')}\n`;
}

function table(clients: ModelPayload[]): string {
  if (clients.length === 0)
    return 'no machine clients yet: add one with `npm run clients -- add --name N --grant client_credentials --secret --scope mcp:tools`\n';
  const header = ['CLIENT_ID', 'NAME', 'AUTH', 'SCOPE', 'ROLES', 'STATE'];
  const rows = clients.map((c) => {
    const v = view(c);
    const kind = v.resource_server ? 'resource-server' : 'machine';
    return [
      String(v.client_id),
      String(v.client_name ?? '-'),
      String(v.token_endpoint_auth_method),
      String(v.scope ?? '-'),
      (v.roles as string[]).join(',') || '-',
      `${v.disabled ? 'disabled' : 'enabled'} ${kind}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .concat('\n');
  return [header, ...rows].map(line).join('');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

if (isMain(import.meta.url)) {
  // stdout is the command's answer (JSON alone with --json): library notices go to stderr.
  console.info = console.log = (...args: unknown[]) => console.error(...args);
  runClientsCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`clients: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
