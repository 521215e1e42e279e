import { parseArgs } from 'node:util';
import { CliError } from './http.ts';

export const COMMANDS = ['login', 'tools', 'call', 'logout', 'status'] as const;
export type Command = (typeof COMMANDS)[number];

export interface Parsed {
  command?: Command;
  positionals: string[];
  help: boolean;
  json: boolean;
  verbose: boolean;
  noAuth: boolean;
  device: boolean;
  browser: boolean;
  noOpen: boolean;
  /** --qr / --no-qr: a QR code of the device flow's URL; undefined = only on a terminal. */
  qr?: boolean;
  clientCredentials: boolean;
  dpop: boolean;
  idJagIdp?: string;
  idToken?: string;
  idpClientId?: string;
  idpClientSecret?: string;
  scope?: string;
  clientId?: string;
  clientSecret?: string;
  clientKey?: string;
  clientMetadataUrl?: string;
  args: string[];
  argsJson?: string;
}

/**
 * Global flags may come before or after the command. `--json` alone is the output switch; `call`'s
 * `--json '{…}'` (a JSON object right after it) is the tool arguments.
 */
export function parse(argv: string[]): Parsed {
  const rewritten: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json' && argv[i + 1]?.trimStart().startsWith('{')) {
      rewritten.push(`--arguments-json=${argv[++i]}`);
    } else if (arg.startsWith('--json=')) {
      rewritten.push(`--arguments-json=${arg.slice('--json='.length)}`);
    } else rewritten.push(arg);
  }
  let values: ReturnType<typeof parseOptions>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseOptions(rewritten));
  } catch (error) {
    throw new CliError(`${(error as Error).message.replace(/\. To specify.*$/s, '')}\nRun mcp-oauth --help for usage.`, 2);
  }
  const [first, ...rest] = positionals;
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first))
    throw new CliError(`unknown command "${first}" (commands: ${COMMANDS.join(', ')})\nRun mcp-oauth --help for usage.`, 2);
  if (values.device && values.browser) throw new CliError('--device and --browser exclude each other', 2);
  if (values.qr && values['no-qr']) throw new CliError('--qr and --no-qr exclude each other', 2);
  return {
    command: first as Command | undefined,
    positionals: rest,
    help: !!values.help,
    json: !!values.json,
    verbose: !!values.verbose,
    noAuth: !!values['no-auth'],
    device: !!values.device,
    browser: !!values.browser,
    noOpen: !!values['no-open'],
    qr: values.qr ? true : values['no-qr'] ? false : undefined,
    clientCredentials: !!values['client-credentials'],
    dpop: !!values.dpop,
    idJagIdp: values['id-jag-idp'],
    idToken: values['id-token'],
    idpClientId: values['idp-client-id'],
    idpClientSecret: values['idp-client-secret'],
    scope: values.scope,
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    clientKey: values['client-key'],
    clientMetadataUrl: values['client-metadata-url'],
    args: values.arg ?? [],
    argsJson: values['arguments-json'],
  };
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      'no-auth': { type: 'boolean' },
      device: { type: 'boolean' },
      browser: { type: 'boolean' },
      'no-open': { type: 'boolean' },
      qr: { type: 'boolean' },
      'no-qr': { type: 'boolean' },
      'client-credentials': { type: 'boolean' },
      dpop: { type: 'boolean' },
      'id-jag-idp': { type: 'string' },
      'id-token': { type: 'string' },
      'idp-client-id': { type: 'string' },
      'idp-client-secret': { type: 'string' },
      scope: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'client-key': { type: 'string' },
      'client-metadata-url': { type: 'string' },
      arg: { type: 'string', multiple: true },
      'arguments-json': { type: 'string' },
    },
  });
}

/** `--arg key=value`: the value typed by the tool's input schema (a number stays a number). */
export function toolArguments(
  args: string[],
  argsJson: string | undefined,
  schema: { properties?: Record<string, { type?: string | string[] }> } | undefined,
): Record<string, unknown> {
  let result: Record<string, unknown> = {};
  if (argsJson !== undefined) {
    try {
      result = JSON.parse(argsJson) as Record<string, unknown>;
    } catch (error) {
      throw new CliError(`--json is not valid JSON: ${(error as Error).message}`, 2);
    }
    if (typeof result !== 'object' || result === null || Array.isArray(result)) throw new CliError('--json must be a JSON object', 2);
  }
  for (const arg of args) {
    const at = arg.indexOf('=');
    if (at <= 0) throw new CliError(`--arg ${arg}: expected key=value`, 2);
    const name = arg.slice(0, at);
    const raw = arg.slice(at + 1);
    const type = [schema?.properties?.[name]?.type ?? 'string'].flat();
    if (type.includes('string')) result[name] = raw;
    else {
      try {
        result[name] = JSON.parse(raw);
      } catch {
        throw new CliError(`--arg ${name}=${raw}: ${name} is a ${type.join('|')}, give it as JSON (e.g. 3, true, ["a"])`, 2);
      }
    }
  }
  return result;
}
