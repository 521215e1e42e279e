import { createInterface } from 'node:readline/promises';
import { checkCommand, parseStrict, UsageError, type CommandTable } from './command-line.ts';
import { Writable, type Readable } from 'node:stream';
import { isMain } from '../../common/is-main.ts';
import { checkPasswordPolicy } from '../accounts/password-policy.ts';
import { ConfigError } from '../../common/config-error.ts';
import { loadConfig, loadStorageConfig } from '../config.ts';
import { revocationContext } from '../revocation/context.ts';
import { disableAccount, enableAccount, NotFoundError, removeAccount, signOutAccount } from '../revocation/revocations.ts';
import { openStorage } from '../storage/open-storage.ts';
import { AccountExistsError, InvalidAccountError, type Account, type AccountStore } from '../storage/store.ts';

const USAGE = `usage: npm run users -- <command>

  add <username> --password-stdin [--name N] [--email E] [--role R]…
           create an account; the password is read from stdin (one trailing newline is
           dropped), or asked for without echo when stdin is a terminal and
           --password-stdin is left out. --role may be repeated.
  set-password <username> --password-stdin
           replace the password (read as for add) and sign the account out everywhere:
           its sessions, grants and refresh tokens end
  disable <username>
           the account can no longer sign in; it is signed out everywhere as above, its
           personal access tokens are revoked, and resource servers refuse its access tokens
  enable <username>
           let a disabled account sign in again
  list     show every account: username, name, email, roles, status, id (the OIDC "sub"), and
           the upstream identities linked to it (provider:subject)
  remove <username>
           delete an account and sign it out everywhere

Usernames match case-insensitively. Passwords need 8 to 256 characters (15 or more for
accounts with the admin role) and must not be a commonly used password.
Reads DATA_DIR (default ./data), or DATABASE_URL when set. Exit codes: 0 done, 1 refused
(duplicate or unknown user, invalid input, password refused), 2 bad usage.
example: printf '%s' 'correct horse battery staple' | npm run users -- add alice --password-stdin --role admin`;

export interface UsersCliIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
}

/** Bad command line: the user gets the usage text and exit code 2. */

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'password-stdin': { type: 'boolean' },
  name: { type: 'string' },
  email: { type: 'string' },
  role: { type: 'string', multiple: true },
} as const;

/** Which options each command takes; anything else is a usage error rather than silently ignored. */
const ALLOWED: CommandTable = {
  add: { operands: 1, options: ['password-stdin', 'name', 'email', 'role'] },
  'set-password': { operands: 1, options: ['password-stdin'] },
  disable: { operands: 1, options: [] },
  enable: { operands: 1, options: [] },
  list: { operands: 0, options: [] },
  remove: { operands: 1, options: [] },
};

/**
 * The `npm run users` command, callable in-process. Returns the exit code; never throws for
 * anything the user did.
 *
 * ```ts source="./users.examples.ts#runUsersCli"
 * process.exitCode = await runUsersCli(['list'], {
 *   stdin: process.stdin,
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 *   env: process.env,
 * });
 * ```
 */
export async function runUsersCli(argv: string[], io: UsersCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`users: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }

  // Read (and for add, check) the password before opening storage, so a refused password leaves
  // no trace on disk. set-password checks it once the account's roles are known.
  let password: string | undefined;
  if (parsed.command === 'add' || parsed.command === 'set-password') {
    try {
      password = await readPassword(io, parsed.command, parsed.values['password-stdin'] === true);
      if (parsed.command === 'add') checkPasswordPolicy(password, { username: parsed.operands[0]!, roles: parsed.values.role });
    } catch (error) {
      if (error instanceof UsageError) {
        io.stderr.write(`users: ${error.message}\n\n${USAGE}\n`);
        return 2;
      }
      if (error instanceof InvalidAccountError) {
        io.stderr.write(`users: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  }

  let storage;
  try {
    storage = await openStorage(loadStorageConfig(io.env));
  } catch (error) {
    io.stderr.write(`users: cannot open storage: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    const { accounts } = storage;
    const [username = ''] = parsed.operands;
    // Disabling, removing and a new password also feed the revocation feed (revocation/revocations.ts),
    // whose entries live as long as an access token: that lifetime is in the server's configuration.
    const revocation = () => revocationContext(loadConfig(io.env), storage);
    const unknown = () => {
      io.stderr.write(`users: no account named "${username}"\n`);
      return 1;
    };
    switch (parsed.command) {
      case 'add': {
        const { values } = parsed;
        const account = await accounts.add({
          username,
          password: password!,
          name: values.name ?? null,
          email: values.email ?? null,
          roles: values.role ?? [],
        });
        io.stdout.write(`added ${account.username} (sub ${account.id})\n`);
        return 0;
      }
      case 'list':
        io.stdout.write(await formatAccounts(accounts));
        return 0;
      case 'set-password': {
        const account = await accounts.findByUsername(username);
        if (!account) return unknown();
        checkPasswordPolicy(password!, account);
        const ctx = revocation();
        if (!(await accounts.setPassword(username, password!))) return unknown();
        io.stdout.write(`set the password of ${account.username}; ${signedOut(await signOutAccount(ctx, account, 'cli'))}\n`);
        return 0;
      }
      case 'disable': {
        const { account, removed } = await disableAccount(revocation(), username, 'cli');
        io.stdout.write(`disabled ${account.username}; ${signedOut(removed)}\n`);
        return 0;
      }
      case 'enable': {
        const account = await enableAccount(revocation(), username, 'cli');
        io.stdout.write(`enabled ${account.username}\n`);
        return 0;
      }
      case 'remove': {
        // Its sessions go too: a live browser session would still carry its id, and oidc-provider
        // answers such a session with server_error instead of a login page.
        await removeAccount(revocation(), username, 'cli');
        io.stdout.write(`removed ${username}\n`);
        return 0;
      }
      default:
        throw new Error(`unhandled command ${parsed.command}`);
    }
  } catch (error) {
    if (error instanceof AccountExistsError || error instanceof InvalidAccountError || error instanceof NotFoundError) {
      io.stderr.write(`users: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`users: cannot read the server's configuration: ${error.message}\n`);
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
  const checked = checkCommand(positionals, values, ALLOWED, 'username');
  return checked === 'help' ? 'help' : { ...checked, values };
}

/**
 * What signOutAccount did: the account's browser sessions ended and its grants removed with their
 * refresh tokens, so a password that someone else may know stops working everywhere at once; its
 * JWT access tokens and personal access tokens are refused by resource servers through the
 * revocation feed (within RS_REVOCATION_POLL_SECONDS).
 */
function signedOut(removed: number): string {
  return `signed out everywhere (${removed} session, grant and token record${removed === 1 ? '' : 's'} removed)`;
}

async function readPassword(io: UsersCliIo, command: string, fromStdin: boolean): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  } else if (io.stdin.isTTY) {
    password = await askHidden(io, 'Password: ');
    if ((await askHidden(io, 'Repeat password: ')) !== password) throw new InvalidAccountError('the two passwords differ');
  } else {
    throw new UsageError(`${command} needs --password-stdin when stdin is not a terminal`);
  }
  // hashPassword refuses it too, but only after storage is opened; say it first and plainly.
  if (password === '') throw new InvalidAccountError('empty password refused');
  return password;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** Prompts on stderr and reads one line from the terminal without echoing it. */
async function askHidden(io: UsersCliIo, prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) io.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: true });
  try {
    const answer = rl.question(prompt);
    muted = true; // The prompt is out; everything readline echoes from now on is the password.
    return await answer;
  } finally {
    rl.close();
    io.stderr.write('\n');
  }
}

async function formatAccounts(accounts: AccountStore): Promise<string> {
  const list = await accounts.list();
  if (list.length === 0) return 'no accounts yet: add one with `npm run users -- add <username> --password-stdin`\n';
  const links = new Map<string, string[]>();
  for (const link of await accounts.listLinks()) {
    links.set(link.accountId, [...(links.get(link.accountId) ?? []), `${link.providerId}:${link.subject}`]);
  }
  const header = ['USERNAME', 'NAME', 'EMAIL', 'ROLES', 'STATUS', 'ID', 'LINKS'];
  const rows = list.map((a: Account) => [
    a.username,
    a.name ?? '-',
    a.email ?? '-',
    a.roles.join(',') || '-',
    a.disabledAt === null ? 'active' : 'disabled',
    a.id,
    // Last, and empty for a local-only account: the column most rows leave blank.
    (links.get(a.id) ?? []).join(','),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
      .concat('\n');
  return [header, ...rows].map(line).join('');
}

if (isMain(import.meta.url)) {
  runUsersCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`users: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
