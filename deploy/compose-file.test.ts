import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DCLinter } from 'dclint';
import { describe, expect, it } from 'vitest';
import { loadConfig as loadAuthConfig } from '../auth-server/config.ts';
import { loadCompose } from './compose.ts';
import { imageEnv, parseDockerfile } from './dockerfile.ts';
import { ROOT } from './local-compose.ts';

const COMPOSE_PATH = join(ROOT, 'docker-compose.yml');
const compose = loadCompose(await readFile(COMPOSE_PATH, 'utf8'));
const service = (name: string) => compose.services.find((s) => s.name === name)!;
/** Our two servers (the postgres service runs the official image). */
const servers = compose.services.filter((s) => s.build);
/** dclint's own types do not resolve under nodenext; what we read of its messages. */
interface LintMessage {
  line: number;
  message: string;
  rule: string;
}
const lint = (path: string): LintMessage[] => {
  const [result] = new DCLinter({ rules: {}, quiet: true, debug: false, exclude: [] }).lintFiles([path], false) as {
    messages: LintMessage[];
  }[];
  if (!result) throw new Error(`dclint did not lint ${path}`);
  return result.messages;
};

describe('docker-compose.yml', () => {
  it('is valid against the current compose schema and passes every dclint rule', () => {
    expect(lint(COMPOSE_PATH).map((m) => `${m.line}: ${m.message} (${m.rule})`)).toEqual([]);
  });

  it('the schema check does catch a broken compose file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'compose-lint-'));
    try {
      const broken = join(dir, 'docker-compose.yml');
      await writeFile(
        broken,
        "name: x\nservices:\n  a:\n    image: 'node:24-slim'\n    depends_on:\n      b:\n        condition: service_ready\n",
      );
      expect(lint(broken).map((m) => m.rule)).toContain('invalid-schema');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("builds auth-server and resource-server from the one Dockerfile, each running its npm script's command", async () => {
    const scripts = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(compose.services.map((s) => s.name).sort()).toEqual(['auth-server', 'postgres', 'resource-server']);
    expect(servers.map((s) => s.name).sort()).toEqual(['auth-server', 'resource-server']);
    for (const s of servers) {
      expect(s.build, s.name).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      expect(s.command?.join(' '), s.name).toBe(withoutNodeCheck(scripts[s.name]!));
    }
  });

  it("has a healthcheck on each server's /healthz, and the resource server waits for a healthy auth server", () => {
    for (const s of servers) {
      const port = s.ports[0]!.target;
      expect(s.healthcheck?.test, s.name).toEqual(['CMD', 'node', 'deploy/healthcheck.ts', `http://127.0.0.1:${port}/healthz`]);
    }
    expect(service('resource-server').dependsOn).toEqual({ 'auth-server': 'service_healthy' });
  });

  it('keeps the keys in a named volume where the image puts KEYS_DIR, and the database in the postgres volume', async () => {
    const env = imageEnv(parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8')));
    const auth = service('auth-server');
    const keysDir = auth.environment.KEYS_DIR ?? env.KEYS_DIR;
    const volumes = Object.fromEntries(auth.volumes.map((v) => [v.target, v.source]));
    const pgVolumes = Object.fromEntries(service('postgres').volumes.map((v) => [v.target, v.source]));
    expect(compose.volumes).toEqual(expect.arrayContaining([volumes[keysDir!], pgVolumes['/var/lib/postgresql/data']]));
  });

  it('gives both servers the same resource-server client pair, one the auth server accepts', () => {
    const auth = service('auth-server').environment;
    const rs = service('resource-server').environment;
    expect(auth.RS_CLIENT_ID).toBeTruthy();
    expect([rs.RS_CLIENT_ID, rs.RS_CLIENT_SECRET]).toEqual([auth.RS_CLIENT_ID, auth.RS_CLIENT_SECRET]);
    expect(loadAuthConfig({ ...auth, AUTH_ISSUER: 'http://localhost:3000' }).resourceServerClient).toEqual({
      clientId: auth.RS_CLIENT_ID,
      secret: auth.RS_CLIENT_SECRET,
    });
  });

  it('the auth server uses the postgres service (by its name, with POSTGRES_USER/DB) once it is healthy', () => {
    const pgService = service('postgres');
    const auth = service('auth-server');
    expect(pgService.image).toMatch(/^postgres:\d+/);
    expect(pgService.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(auth.dependsOn).toEqual({ postgres: 'service_healthy' });
    const url = new URL(auth.environment.DATABASE_URL!);
    expect(url.hostname).toBe('postgres');
    expect(url.username).toBe(pgService.environment.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pgService.environment.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pgService.environment.POSTGRES_DB}`);
  });

  it('the browser uses localhost for both servers; inside the network the resource server fetches keys by service name but expects the public issuer', () => {
    const auth = service('auth-server');
    const rs = service('resource-server');
    const authPort = auth.ports[0]!;
    const rsPort = rs.ports[0]!;
    const issuer = `http://localhost:${authPort.published}`;
    const resource = `http://localhost:${rsPort.published}/mcp`;
    expect(auth.environment).toMatchObject({ AUTH_ISSUER: issuer, AUTH_PORT: String(authPort.target), RS_RESOURCE_URL: resource });
    expect(rs.environment).toMatchObject({
      AUTH_ISSUER: issuer,
      RS_RESOURCE_URL: resource,
      RS_PORT: String(rsPort.target),
      AUTH_JWKS_URL: `http://auth-server:${authPort.target}/jwks`,
    });
    for (const s of servers) {
      expect(s.ports[0]!.hostIp, 'published on this machine only').toBe('127.0.0.1');
      // The development default binds loopback, which a published port cannot reach in a container.
      expect(s.environment[s.name === 'auth-server' ? 'AUTH_HOST' : 'RS_HOST'], `${s.name} binds every interface of its container`).toBe(
        '0.0.0.0',
      );
    }
  });
});

/** npm scripts preload common/require-node.cjs (a one-line error on old Node); the image's Node is current. */
function withoutNodeCheck(script: string): string {
  return script.replace(' -r ./common/require-node.cjs', '');
}
