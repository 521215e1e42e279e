import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestSchema, TEST_DATABASE_URL, type TestSchema } from '../testing/postgres.ts';
import { openPostgresStorage } from './postgres-store.ts';
import { POSTGRES_SCHEMA_VERSION } from './postgres-schema.ts';
import { SchemaTooNewError } from './sqlite-schema.ts';
import { describeStorageContract } from './store.contract.ts';
import type { Storage } from './store.ts';
describe('PostgreSQL', () => {
  describeStorageContract('PostgreSQL', async () => {
    const { url, drop } = await createTestSchema();
    return { open: ({ now, auditEventsKept }) => openPostgresStorage(url, { now, poolSize: 3, auditEventsKept }), cleanup: drop };
  });

  describe('openPostgresStorage', () => {
    const schemas: TestSchema[] = [];
    const opened: Storage[] = [];
    const fresh = async () => {
      const schema = await createTestSchema();
      schemas.push(schema);
      return schema;
    };
    const open = async (url: string, options = {}) => {
      const storage = await openPostgresStorage(url, { poolSize: 2, ...options });
      opened.push(storage);
      return storage;
    };
    const query = async (sql: string, params: unknown[] = []) => {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      for (const s of schemas.splice(0)) await s.drop();
    });

    it('creates its schema with a version, tables and an index for every lookup', async () => {
      const { url, schema } = await fresh();
      await open(url);
      expect(await query(`SELECT version FROM "${schema}".schema_version`)).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
      const indexes = (await query('SELECT indexname FROM pg_indexes WHERE schemaname = $1', [schema])).map((r) => r.indexname);
      expect(indexes).toEqual(
        expect.arrayContaining([
          'models_grant_id',
          'models_uid',
          'models_user_code',
          'models_expires_at',
          'accounts_username',
          'token_locks_expires_at',
          'token_replays_expires_at',
        ]),
      );
    });

    it('migrates safely when five instances start at once, and idempotently on reopen', async () => {
      const { url, schema } = await fresh();
      const stores = await Promise.all(Array.from({ length: 5 }, () => open(url, { poolSize: 1 })));
      await stores[0]!.models.upsert('Client', 'c', { client_id: 'c' }, undefined);
      const again = await open(url);
      expect(await again.models.find('Client', 'c')).toEqual({ client_id: 'c' });
      expect(await query(`SELECT version FROM "${schema}".schema_version`)).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
    });

    it('keeps schemas apart: a row in one is not in another', async () => {
      const a = await open((await fresh()).url);
      const b = await open((await fresh()).url);
      await a.models.upsert('Client', 'c', {}, undefined);
      expect(await b.models.find('Client', 'c')).toBeUndefined();
    });

    it('takes the schema from options over the URL', async () => {
      const { url, schema } = await fresh();
      const other = await fresh();
      const storage = await open(url, { schema: other.schema });
      await storage.models.upsert('Client', 'c', {}, undefined);
      expect(await query(`SELECT count(*)::int AS n FROM "${other.schema}".models`)).toEqual([{ n: 1 }]);
      expect(await query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([{ n: 0 }]);
    });

    it('refuses a schema name that is not a plain identifier', async () => {
      await expect(openPostgresStorage(TEST_DATABASE_URL, { schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(
        'invalid PostgreSQL schema name',
      );
    });

    it('refuses a schema written by a newer version', async () => {
      const { url, schema } = await fresh();
      await (await open(url)).close();
      await query(`UPDATE "${schema}".schema_version SET version = 99`);
      await expect(openPostgresStorage(url)).rejects.toBeInstanceOf(SchemaTooNewError);
    });

    it('upgrades a schema from before disabled accounts: existing accounts stay active', async () => {
      const { url, schema } = await fresh();
      const before = await open(url);
      const alice = await before.accounts.add({ username: 'alice', password: 'correct horse' });
      await before.close();
      // Back to version 2 (before disabled_at and upstream links), as a database written then would be.
      await query(`DROP TABLE "${schema}".upstream_links`);
      await query(`DROP INDEX "${schema}".accounts_email`);
      await query(`ALTER TABLE "${schema}".accounts DROP COLUMN disabled_at`);
      // Migrations are append-only: version 2 stays the schema before disabled accounts, whatever comes after.
      await query(`UPDATE "${schema}".schema_version SET version = 2`);
      const after = await open(url);
      expect(await after.accounts.authenticate('alice', 'correct horse')).toEqual({ ...alice, disabledAt: null });
      expect(await after.accounts.listLinks()).toEqual([]);
    });

    it('fails to open, promptly and clearly, when the server is not there', async () => {
      const started = Date.now();
      await expect(openPostgresStorage('postgres://postgres@127.0.0.1:1/test', { connectionTimeoutMs: 2_000 })).rejects.toThrow(
        /ECONNREFUSED|connect/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('sweeps in batches without waiting for rows a transaction holds', async () => {
      const { url, schema } = await fresh();
      let clock = Date.UTC(2030, 0, 1);
      const storage = await open(url, { now: () => clock });
      await storage.models.upsert('Interaction', 'held', {}, 1);
      await storage.models.upsert('Interaction', 'free', {}, 1);
      clock += 60_000;
      // Another connection holds a row lock on 'held', as an in-flight request would.
      const holder = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM "${schema}".models WHERE id = 'held' FOR UPDATE`);
        const started = Date.now();
        expect(await storage.models.sweepExpired()).toBe(1);
        expect(Date.now() - started).toBeLessThan(1_000);
        await holder.query('COMMIT');
      } finally {
        await holder.end();
      }
      expect(await storage.models.sweepExpired()).toBe(1);
    });

    it('close is idempotent', async () => {
      const storage = await openPostgresStorage((await fresh()).url);
      await storage.close();
      await storage.close();
    });
  });
});
