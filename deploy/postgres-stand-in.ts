import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ComposeService } from './compose.ts';

/** The tests' PostgreSQL (see vitest.global-setup.ts), which stands in for a compose service built from the postgres image. */
const ADMIN_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PostgresStandIn {
  /** Where `<service>:5432` leads on this machine. */
  host: string;
  port: number;
  /** The fresh database that stands in for POSTGRES_DB. */
  database: string;
  /** Points a postgres:// URL at the stand-in database (its host was already remapped). */
  rewrite(url: string): string;
  /** Runs a `SELECT count(*) …` in the stand-in database (what the services stored). */
  count(sql: string, params: unknown[]): Promise<number>;
  drop(): Promise<void>;
}

export function isPostgresImage(service: ComposeService): boolean {
  return !service.build && /^(docker\.io\/(library\/)?)?postgres(:|$)/.test(service.image ?? '');
}

/**
 * Does what the postgres image's entrypoint does on an empty volume — create POSTGRES_USER (with
 * POSTGRES_PASSWORD) and a database it owns — on the machine's server, in a fresh database per run
 * (a new volume), so the services' DATABASE_URL works unchanged but for host and database name.
 *
 * @example
 * const standIn = await startPostgresStandIn(service); …; await standIn.drop();
 */
export async function startPostgresStandIn(service: ComposeService): Promise<PostgresStandIn> {
  const user = service.environment.POSTGRES_USER || 'postgres';
  const password = service.environment.POSTGRES_PASSWORD ?? '';
  const database = `compose_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await admin.connect().catch((error: Error) => {
    throw new Error(
      `the ${service.name} service needs a PostgreSQL server at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')}: ${error.message}`,
    );
  });
  try {
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    const ident = pg.escapeIdentifier(user);
    if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${ident} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${ident}`);
  } finally {
    await admin.end();
  }
  const server = new URL(ADMIN_URL);
  return {
    host: server.hostname,
    port: Number(server.port || 5432),
    database,
    rewrite(url) {
      const parsed = new URL(url);
      parsed.pathname = `/${database}`;
      return parsed.href;
    },
    async count(sql, params) {
      const url = new URL(ADMIN_URL);
      url.pathname = `/${database}`;
      const client = new pg.Client({ connectionString: url.href });
      await client.connect();
      try {
        const { rows } = await client.query<{ count: string }>(sql, params);
        return Number(rows[0]?.count ?? 0);
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
