import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A client registration at one authorization server (cached per issuer). */
export interface ClientRecord {
  issuer: string;
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: string;
  /** private_key_jwt: where the key is (the key itself stays in the user's file). */
  private_key_file?: string;
  signing_algorithm?: string;
  /** How the client came to be: pre-registered (--client-id), cimd (URL client_id) or dcr. */
  kind: 'pre-registered' | 'cimd' | 'dcr';
  grant_types?: string[];
}

/** One sign-in: the tokens for one resource at one issuer. Never printed. */
export interface TokenRecord {
  mcpUrl: string;
  resource: string;
  issuer: string;
  client_id: string;
  access_token: string;
  token_type: string;
  refresh_token?: string;
  scope?: string;
  /** Epoch seconds, when the AS said how long the access token lives. */
  expires_at?: number;
  /** The token's `sub`, for `status` (read from the JWT access token; display only). */
  user?: string;
  /** How the tokens were obtained, so a refresh or re-login knows what to do. */
  grant: 'authorization_code' | 'device_code' | 'client_credentials' | 'id_jag';
  /**
   * --dpop: the private key (JWK) the tokens are bound to (RFC 9449). Its presence is what makes
   * later commands send DPoP proofs; it lives in this 0600 file like the refresh token it guards.
   */
  dpop_jwk?: JsonWebKey;
}

/** `$XDG_CONFIG_HOME/mcp-oauth-stack`, else `~/.config/mcp-oauth-stack`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'mcp-oauth-stack');
}

const key = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);

/**
 * The on-disk cache: tokens and registrations hold credentials, so the directory is 0700 and
 * every file 0600 (created so, never chmod-ed after the fact), and every write goes to a temp
 * file that is renamed over the old one, so a crash or a parallel reader never sees half a file.
 */
export class Store {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  async #ensure(sub: string): Promise<string> {
    const path = join(this.dir, sub);
    // mkdir's mode is masked by the umask: chmod makes 0700 hold whatever the umask is.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    await mkdir(path, { recursive: true, mode: 0o700 });
    await chmod(path, 0o700);
    return path;
  }

  async #write(sub: string, name: string, value: unknown): Promise<void> {
    const dir = await this.#ensure(sub);
    const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, name));
  }

  async #read<T>(sub: string, name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, sub, name), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (error instanceof SyntaxError) return undefined; // a damaged file: treat as absent, the next write replaces it
      throw error;
    }
  }

  tokenFile(issuer: string, resource: string): string {
    return join(this.dir, 'tokens', `${key(issuer, resource)}.json`);
  }

  getClient(issuer: string): Promise<ClientRecord | undefined> {
    return this.#read<ClientRecord>('clients', `${key(issuer)}.json`);
  }
  saveClient(client: ClientRecord): Promise<void> {
    return this.#write('clients', `${key(client.issuer)}.json`, client);
  }
  async forgetClient(issuer: string): Promise<void> {
    await rm(join(this.dir, 'clients', `${key(issuer)}.json`), { force: true });
  }

  getTokens(issuer: string, resource: string): Promise<TokenRecord | undefined> {
    return this.#read<TokenRecord>('tokens', `${key(issuer, resource)}.json`);
  }
  saveTokens(tokens: TokenRecord): Promise<void> {
    return this.#write('tokens', `${key(tokens.issuer, tokens.resource)}.json`, tokens);
  }
  async forgetTokens(issuer: string, resource: string): Promise<void> {
    await rm(join(this.dir, 'tokens', `${key(issuer, resource)}.json`), { force: true });
  }

  /** Every cached sign-in (for `status`, and to find the one for an MCP URL without a request). */
  async allTokens(): Promise<TokenRecord[]> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'tokens'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records: TokenRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
      const record = await this.#read<TokenRecord>('tokens', name);
      if (record) records.push(record);
    }
    return records;
  }

  /** The newest sign-in for an MCP URL (several issuers may have served it over time). */
  async tokensFor(mcpUrl: string): Promise<TokenRecord | undefined> {
    const all = (await this.allTokens()).filter((t) => t.mcpUrl === mcpUrl);
    return all.at(-1);
  }

  /**
   * Runs `fn` holding a lock shared by every process using this cache, so two invocations that
   * refresh at the same moment use one rotation (the second sees the first one's new tokens)
   * instead of presenting the same refresh token twice, which the AS treats as reuse and answers
   * by revoking the whole grant.
   */
  async withLock<T>(name: string, fn: () => Promise<T>, options: { timeoutMs?: number; staleMs?: number } = {}): Promise<T> {
    const dir = await this.#ensure('locks');
    const path = join(dir, `${key(name)}.lock`);
    const timeoutMs = options.timeoutMs ?? 120_000;
    const staleMs = options.staleMs ?? 180_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const handle = await open(path, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (await isStale(path, staleMs)) {
          await rm(path, { force: true });
          continue;
        }
        if (Date.now() > deadline)
          throw new Error(`another mcp-oauth process holds the lock ${path}; try again, or delete it if none runs`, { cause: error });
        await new Promise((done) => setTimeout(done, 50 + Math.random() * 50));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(path, { force: true });
    }
  }
}

/** A lock is stale when its holder is gone (pid no longer alive) or it is older than `staleMs`. */
async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [info, pid] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    if (Date.now() - info.mtimeMs > staleMs) return true;
    const holder = Number(pid);
    if (!Number.isInteger(holder) || holder <= 0) return Date.now() - info.mtimeMs > 1000;
    try {
      process.kill(holder, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false; // removed in between: the next open decides
  }
}
