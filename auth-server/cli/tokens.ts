import type { Writable } from 'node:stream';
import { ConfigError } from '../../common/config-error.ts';
import { isMain } from '../../common/is-main.ts';
import { loadConfig } from '../config.ts';
import { revocationContext } from '../revocation/context.ts';
import {
  createPersonalAccessToken,
  listPersonalAccessTokens,
  parseExpiry,
  PersonalAccessTokenRequestError,
  revokePersonalAccessToken,
  type ListedPersonalAccessToken,
} from '../revocation/personal-access-tokens.ts';
import { NotFoundError } from '../revocation/revocations.ts';
import { openStorage } from '../storage/open-storage.ts';
import { PersonalAccessTokenExistsError, type Storage } from '../storage/store.ts';
import { checkCommand, parseStrict, UsageError, type CommandTable } from './command-line.ts';

const USAGE = `usage: npm run tokens -- <command>

  create --user U --name N --scope "S…" [--resource URL] [--expires 30d]
           make a personal access token for user U (for a script or CI job) and print it alone
           on the last line of stdout: it is shown only now, and stored only as a hash.
           --scope: scopes of the resource (RS_RESOURCE_URL unless --resource names another);
           admin scopes only for users with the admin role. --expires: days (30d) or hours
           (12h), default 30 days, at most AUTH_PAT_MAX_DAYS (90).
  list [--user U]
           the live tokens (of U, or everyone's): user, name, scopes, expiry, last use
  revoke --user U --name N
           delete the token; resource servers refuse it within RS_REVOCATION_POLL_SECONDS

A personal access token is sent as "Authorization: Bearer mcp_pat_…" to the MCP server, which
checks it with the auth server (introspection): the same scopes, roles and audit as the user's
own sign-in. Reads DATA_DIR (default ./data) or DATABASE_URL, like the server. Exit codes: 0 done,
1 refused (unknown user or token, scope beyond the user, name taken), 2 bad usage.
example: npm run tokens -- create --user alice --name "nightly build" --scope mcp:tools --expires 30d`;

export interface TokensCliIo {
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  user: { type: 'string' },
  name: { type: 'string' },
  scope: { type: 'string' },
  resource: { type: 'string' },
  expires: { type: 'string' },
} as const;

const ALLOWED: CommandTable = {
  create: { operands: 0, options: ['user', 'name', 'scope', 'resource', 'expires'] },
  list: { operands: 0, options: ['user'] },
  revoke: { operands: 0, options: ['user', 'name'] },
};

/**
 * The `npm run tokens` command, callable in-process. Returns the exit code; never throws for
 * anything the user did.
 *
 * ```ts source="./tokens.examples.ts#runTokensCli"
 * process.exitCode = await runTokensCli(['list', '--user', 'alice'], { stdout: process.stdout, stderr: process.stderr, env: process.env });
 * ```
 */
export async function runTokensCli(argv: string[], io: TokensCliIo): Promise<number> {
  let parsed;
  let expiresInDays: number | undefined;
  try {
    const { values, positionals } = parseStrict(argv, OPTIONS);
    const checked = checkCommand(positionals, values, ALLOWED, 'argument');
    if (checked === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    parsed = { command: checked.command, values };
    if (checked.command !== 'list') {
      if (!values.user?.trim()) throw new UsageError(`${checked.command} needs --user`);
      if (!values.name?.trim()) throw new UsageError(`${checked.command} needs --name`);
    }
    if (checked.command === 'create') {
      if (!values.scope?.trim()) throw new UsageError('create needs --scope');
      if (values.expires !== undefined) {
        expiresInDays = parseExpiry(values.expires);
        if (expiresInDays === undefined) throw new UsageError(`--expires ${values.expires}: write days (30d) or hours (12h)`);
      }
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`tokens: ${error.message} (npm run tokens -- --help)\n`);
    return 2;
  }

  let config;
  let storage: Storage;
  try {
    config = loadConfig(io.env);
    storage = await openStorage(config);
  } catch (error) {
    io.stderr.write(`tokens: cannot open storage: ${(error as Error).message}\n`);
    return 1;
  }
  const ctx = revocationContext(config, storage);
  const { values } = parsed;
  try {
    switch (parsed.command) {
      case 'create': {
        const { token, record } = await createPersonalAccessToken(ctx, {
          username: values.user!,
          name: values.name!,
          scope: values.scope!,
          resource: values.resource,
          expiresInDays,
          actor: 'cli',
        });
        io.stderr.write(
          `created "${record.name}" for ${values.user}: ${record.scope} at ${record.resource}, expires ${iso(record.expiresAt)}.\n` +
            'This is the only time the token is shown; store it as a secret now.\n',
        );
        io.stdout.write(`${token}\n`);
        return 0;
      }
      case 'list':
        io.stdout.write(table(await listPersonalAccessTokens(ctx, values.user)));
        return 0;
      case 'revoke': {
        const removed = await revokePersonalAccessToken(ctx, values.user!, values.name!, 'cli');
        io.stdout.write(`revoked "${removed.name}" of ${values.user}\n`);
        return 0;
      }
      default:
        throw new Error(`unhandled command ${parsed.command}`);
    }
  } catch (error) {
    if (
      error instanceof NotFoundError ||
      error instanceof PersonalAccessTokenRequestError ||
      error instanceof PersonalAccessTokenExistsError
    ) {
      io.stderr.write(`tokens: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`tokens: cannot read the server's configuration: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await storage.close();
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function table(tokens: ListedPersonalAccessToken[]): string {
  if (tokens.length === 0) return 'no personal access tokens\n';
  const header = ['USER', 'NAME', 'SCOPE', 'EXPIRES', 'LAST USED', 'CREATED BY'];
  const rows = tokens.map((t) => [
    t.username,
    t.name,
    t.scope,
    iso(t.expiresAt),
    t.lastUsedAt === null ? 'never' : iso(t.lastUsedAt),
    t.createdBy,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map(
      (cells) =>
        `${cells
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

if (isMain(import.meta.url)) {
  // stdout carries the token (create) or the table: library notices go to stderr.
  console.info = console.log = (...args: unknown[]) => console.error(...args);
  runTokensCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`tokens: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
