import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { listen } from '../../common/http-server.ts';
import { createLogger } from '../../common/logger.ts';
import { createAuthServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { loadOrCreateKeys } from '../keys/key-store.ts';
import { openPostgresStorage } from '../storage/postgres-store.ts';
import { openSqliteStorage } from '../storage/sqlite-store.ts';
import { freePort, RESOURCE, type TestAuthServer } from './harness.ts';
import { createTestSchema } from './postgres.ts';

export type StoreKind = 'sqlite' | 'postgres';

/**
 * Like harness.ts's startAuthServer, on either store: SQLite in a temp DATA_DIR, or PostgreSQL
 * in a fresh schema that close() drops. Rate limits are off unless `env` turns them on, so tests
 * can fire many token requests.
 *
 * @example
 * const server = await startAuthServerOn('postgres', { AUTH_REFRESH_GRACE_SECONDS: '2' });
 * …; await server.close();
 */
export async function startAuthServerOn(kind: StoreKind, env: Record<string, string> = {}): Promise<TestAuthServer> {
  const dir = await mkdtemp(join(tmpdir(), `auth-${kind}-`));
  const schema = kind === 'postgres' ? await createTestSchema() : undefined;
  const logs: string[] = [];
  const logger = createLogger(
    { name: 'auth-server', level: 'info', pretty: false },
    new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } }),
  );
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    AUTH_PORT: String(port),
    AUTH_ISSUER: `http://localhost:${port}`,
    RS_RESOURCE_URL: RESOURCE,
    DATA_DIR: join(dir, 'data'),
    KEYS_DIR: join(dir, 'keys'),
    AUTH_RATE_LIMITS: 'false',
    ...(schema ? { DATABASE_URL: schema.url } : {}),
    ...env,
  });
  const storage = schema
    ? await openPostgresStorage(schema.url, { poolSize: config.databasePoolSize })
    : openSqliteStorage(config.dataDir);
  const keys = await loadOrCreateKeys(config.keysDir);
  const { app } = createAuthServer({ config, storage, keys, logger });
  const server = await listen(app, config.port, '127.0.0.1');
  const stop = async () => {
    await server.close();
    await storage.close();
  };
  return {
    url: config.issuer,
    config,
    storage,
    dir,
    logs,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
      await schema?.drop();
    },
  };
}
