import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/config-error.ts';
import { isMain } from '../../common/is-main.ts';
import { loadConfig, loadStorageConfig } from '../config.ts';
import { DISABLED, RESOURCE_SERVER } from '../provider/client-marks.ts';
import type { OperatorClientAuth } from '../provider/operator-clients.ts';
import { openStorage } from '../storage/open-storage.ts';
import type { ModelPayload, Storage } from '../storage/store.ts';

const USAGE = `usage: npm run clients -- <command>

  add --name N --grant client_credentials --scope "S…" (--secret | --secret-post | --jwks-file F | --jwks-uri U)
      [--role R]… [--resource-server] [--json]
           create a machine client (tokens without a user: sub = its client id). --secret makes a
           secret for HTTP Basic (--secret-post: in the form body), shown only now; --jwks-file
           (a public JWKS file) or --jwks-uri (https) make it sign client assertions
           (private_key_jwt). --role may be repeated; the roles go into its tokens.
  add --name N --grant jwt-bearer (--secret | --secret-post | --jwks-file F | --jwks-uri U) [--json]
           create a client that redeems ID-JAGs from the enterprise IdPs of AUTH_TRUSTED_IDPS
           (set it here too); --grant may be repeated (client_credentials and jwt-bearer).
  add --name N --resource-server --secret [--json]
           create a resource server's own client: it may introspect every client's tokens.
  list [--json]
           the machine and resource-server clients: id, name, auth method, scope, roles, state
  show <client_id> [--json]
           one client's settings (never its secret)
  disable <client_id> / enable <client_id>
           a disabled client gets invalid_client everywhere until enabled again
  remove <client_id>
           delete a client

With --json, stdout carries only JSON (for add: the client, with client_secret). Reads DATA_DIR
(default ./data) or DATABASE_URL, like the server. Exit codes: 0 done, 1 refused (unknown client,
settings the server would not accept), 2 bad usage.
example: npm run clients -- add --name "nightly report" --grant client_credentials --secret --scope mcp:tools --json`;

export interface ClientsCliIo {
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
}

/** Bad command line: one line on stderr and exit code 2. */
class UsageError extends Error {}
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
} as const;

/** Which options each command takes; anything else is a usage error rather than silently ignored. */
const ALLOWED: Record<string, { operands: number; options: string[] }> = {
  add: {
    operands: 0,
    options: ['json', 'name', 'grant', 'scope', 'role', 'secret', 'secret-post', 'jwks-file', 'jwks-uri', 'resource-server'],
  },
  list: { operands: 0, options: ['json'] },
  show: { operands: 1, options: ['json'] },
  disable: { operands: 1, options: [] },
  enable: { operands: 1, options: [] },
  remove: { operands: 1, options: [] },
};

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/**
 * The grants an operator's client may have (short name → grant type); user grants with a browser
 * belong to registered apps, not here.
 */
const GRANTS = new Map([
  ['client_credentials', 'client_credentials'],
  ['jwt-bearer', JWT_BEARER],
  [JWT_BEARER, JWT_BEARER],
]);
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
        let payload: ModelPayload;
        try {
          payload = buildOperatorClient(provider, addRequest!);
        } catch (error) {
          if (error instanceof InvalidOperatorClientError) throw new RefusedError(error.message);
          throw error;
        }
        await storage.models.upsert('Client', payload.client_id as string, payload, undefined);
        io.stdout.write(json ? `${JSON.stringify(view(payload, { withSecret: true }))}\n` : describeNew(payload));
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
        const payload = await mustFind(storage, clientId);
        if (parsed.command === 'disable') payload[DISABLED] = true;
        else delete payload[DISABLED];
        // Without a lifetime, as every operator client: a disabled client stays until removed.
        await storage.models.upsert('Client', clientId, payload, undefined);
        io.stderr.write(`${parsed.command}d ${clientId}\n`);
        return 0;
      }
      case 'remove': {
        await mustFind(storage, clientId);
        await storage.models.destroy('Client', clientId);
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

function parseStrict(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' own messages are clear ("Unknown option '--x'"); only their class is wrong for us.
    // …and their first sentence is enough: the rest is advice about '--' that does not apply here.
    throw new UsageError((error as Error).message.split(/\.\s/)[0]!);
  }
}

type Values = ReturnType<typeof parseStrict>['values'];

function parseCommand(argv: string[]): 'help' | { command: string; operands: string[]; values: Values } {
  const { values, positionals } = parseStrict(argv);
  const [command, ...operands] = positionals;
  if (values.help || command === 'help') return 'help';
  if (!command) throw new UsageError('missing command');
  const allowed = ALLOWED[command];
  if (!allowed) throw new UsageError(`unknown command "${command}"`);
  if (operands.length !== allowed.operands) {
    throw new UsageError(allowed.operands === 0 ? `${command} takes no arguments` : `${command} needs exactly one client_id`);
  }
  const stray = Object.keys(values).filter((key) => !allowed.options.includes(key));
  if (stray.length > 0) throw new UsageError(`${command} does not take --${stray.join(', --')}`);
  return { command, operands, values };
}

/** Everything about `add` that can be checked without storage, as a request for buildOperatorClient. */
async function parseAdd(values: Values) {
  const name = values.name?.trim();
  if (!name) throw new UsageError('add needs --name');
  const resourceServer = values['resource-server'] === true;
  for (const grant of values.grant ?? []) {
    if (!GRANTS.has(grant)) throw new UsageError(`--grant ${grant} is not for operator clients (only client_credentials, jwt-bearer)`);
  }
  const grants = [...new Set((values.grant ?? []).map((grant) => GRANTS.get(grant)!))];
  if (grants.length === 0 && !resourceServer) {
    throw new UsageError('add needs --grant client_credentials or --grant jwt-bearer (or --resource-server)');
  }
  if (grants.includes('client_credentials') && !values.scope?.trim()) throw new UsageError('a client_credentials client needs --scope');
  const methods = (['secret', 'secret-post', 'jwks-file', 'jwks-uri'] as const).filter((key) => values[key] !== undefined);
  if (methods.length !== 1) throw new UsageError('add needs exactly one of --secret, --secret-post, --jwks-file, --jwks-uri');
  return {
    name,
    grantTypes: grants,
    scope: values.scope?.trim().split(/\s+/).join(' '),
    roles: values.role ?? [],
    resourceServer,
    auth: await authOf(methods[0]!, values),
  };
}

async function authOf(method: 'secret' | 'secret-post' | 'jwks-file' | 'jwks-uri', values: Values): Promise<OperatorClientAuth> {
  switch (method) {
    case 'secret':
      return { method: 'client_secret_basic' };
    case 'secret-post':
      return { method: 'client_secret_post' };
    case 'jwks-uri': {
      const uri = values['jwks-uri']!;
      const url = URL.parse(uri);
      if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))) {
        throw new UsageError(`--jwks-uri must be an https URL (http only on loopback): ${uri}`);
      }
      return { method: 'private_key_jwt', jwksUri: url.href };
    }
    case 'jwks-file':
      return { method: 'private_key_jwt', jwks: await readJwks(values['jwks-file']!) };
  }
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

/** The clients this command is about: machine clients and resource servers, not registered apps. */
function isOperatorKind(payload: ModelPayload): boolean {
  const grants = Array.isArray(payload.grant_types) ? payload.grant_types : [];
  return grants.includes('client_credentials') || grants.includes(JWT_BEARER) || payload[RESOURCE_SERVER] === true;
}

/** What the CLI shows of a client: the secret only at creation. */
function view(payload: ModelPayload, options: { withSecret?: boolean } = {}) {
  return {
    client_id: payload.client_id,
    ...(options.withSecret && payload.client_secret ? { client_secret: payload.client_secret } : {}),
    client_name: payload.client_name,
    token_endpoint_auth_method: payload.token_endpoint_auth_method,
    grant_types: payload.grant_types,
    scope: payload.scope,
    roles: payload.roles ?? [],
    resource_server: payload[RESOURCE_SERVER] === true,
    ...(payload.jwks_uri ? { jwks_uri: payload.jwks_uri } : {}),
    disabled: payload[DISABLED] === true,
  };
}

function describeNew(payload: ModelPayload): string {
  const lines = [`added ${payload.client_name} — client_id: ${payload.client_id}`];
  if (payload.client_secret)
    lines.push(`client_secret: ${payload.client_secret}`, '(the secret is shown only now; keep it where the client runs)');
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
