import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { loadCompose, type ComposeService } from './compose.ts';
import { dockerignore } from './dockerignore.ts';
import { execForm, imageEnv, parseDockerfile } from './dockerfile.ts';
import { isPostgresImage, startPostgresStandIn, type PostgresStandIn } from './postgres-stand-in.ts';
import { freePort } from '../common/free-port.ts';

export const ROOT = join(import.meta.dirname, '..');

/** One service of docker-compose.yml, running as its container would. */
export interface LocalService {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** Where the server listens (the container port, remapped). */
  port: number;
  /** Where the host reaches it (the published port, remapped): a TCP forwarder like docker-proxy. */
  publishedPort: number;
  /** The compose healthcheck command, remapped. */
  healthcheck: string[] | undefined;
  output(): string;
  /** Closes the published port, as if the host could no longer reach the container. */
  unpublish(): Promise<void>;
}

export interface LocalCompose {
  services: Map<string, LocalService>;
  /** The image's root filesystem: rootfs/app holds the build context, volumes live below it too. */
  rootfs: string;
  /** The image's HEALTHCHECK command, run inside a service's container environment. */
  imageHealthcheck: string[] | undefined;
  /** Runs a command in a service's container environment (cwd = WORKDIR, env = the container's). */
  exec(service: string, command: string[]): Promise<number | null>;
  /** `docker compose down`: SIGTERM each container, returns the exit codes. */
  down(): Promise<Record<string, number | null>>;
  /** Services from the postgres image, played by the machine's PostgreSQL (a fresh database each). */
  postgres: Map<string, PostgresStandIn>;
}

/**
 * `docker compose up` without Docker: reads docker-compose.yml and the Dockerfile, lays out the
 * build context as `COPY . .` would (through .dockerignore) in a temp root filesystem, and starts
 * each service's command with the image's ENV plus the service's environment, in depends_on
 * order, waiting for `service_healthy` by running the compose healthcheck command.
 *
 * What has to change on one machine, and nothing else:
 * - every container port gets a free port (a service's own port variable, and `<service>:<port>`
 *   URLs, which inside the network reach that container), and every published port a second free
 *   port with a forwarder, so `http://localhost:<published>` URLs keep meaning "the host's view";
 * - `<service>` host names become 127.0.0.1; absolute paths are moved under the temp root;
 * - servers bind 127.0.0.1 (AUTH_HOST/RS_HOST) instead of every interface of a container;
 * - a service from the postgres image is played by the machine's PostgreSQL, in a fresh database.
 */
export async function composeUpLocally(): Promise<LocalCompose> {
  const compose = loadCompose(await readFile(join(ROOT, 'docker-compose.yml'), 'utf8'));
  const dockerfiles = new Map<string, ReturnType<typeof parseDockerfile>>();
  const rootfs = await mkdtemp(join(tmpdir(), 'compose-rootfs-'));
  const workdir = '/app';
  await copyBuildContext(join(rootfs, workdir));
  await symlink(join(ROOT, 'node_modules'), join(rootfs, workdir, 'node_modules'));

  // Ports: container port → where it listens here; published port → where the host reaches it.
  const listen = new Map<string, Map<number, number>>();
  const published = new Map<number, number>();
  const postgres = new Map<string, PostgresStandIn>();
  for (const service of compose.services.filter(isPostgresImage)) {
    const standIn = await startPostgresStandIn(service);
    postgres.set(service.name, standIn);
    listen.set(service.name, new Map([[5432, standIn.port]]));
  }
  for (const service of compose.services.filter((s) => !postgres.has(s.name))) {
    const ports = new Map<number, number>();
    for (const port of service.ports) {
      ports.set(port.target, await freePort());
      published.set(port.published, await freePort());
    }
    listen.set(service.name, ports);
  }
  const serviceNames = compose.services.map((s) => s.name);

  const rewriteUrl = (value: string, own: string) =>
    value
      .replace(/\b(localhost|127\.0\.0\.1):(\d+)\b/g, (whole, host: string, port: string) => {
        // Inside a container, its own loopback; from the host (browser, issuer URLs), a published port.
        const inside = own ? listen.get(own)?.get(Number(port)) : undefined;
        if (host === '127.0.0.1' && inside) return `127.0.0.1:${inside}`;
        const outside = published.get(Number(port));
        return outside ? `${host}:${outside}` : whole;
      })
      .replace(new RegExp(`\\b(${serviceNames.join('|')}):(\\d+)\\b`, 'g'), (whole, name: string, port: string) => {
        const target = listen.get(name)?.get(Number(port));
        return target ? `127.0.0.1:${target}` : whole;
      });
  /** A postgres:// URL naming a stand-in service: same user, the run's fresh database. */
  const rewriteDatabaseUrl = (original: string, mapped: string) => {
    if (!/^postgres(ql)?:\/\//.test(original)) return mapped;
    const host = URL.parse(original)?.hostname;
    const standIn = host ? postgres.get(host) : undefined;
    return standIn ? standIn.rewrite(mapped) : mapped;
  };

  const services = new Map<string, LocalService>();
  const children = new Map<string, { child: ChildProcess; exited: Promise<number | null>; forwarder: Server | undefined }>();
  let imageHealthcheck: string[] | undefined;

  for (const service of startOrder(compose.services)) {
    if (postgres.has(service.name)) continue;
    if (!service.build) throw new Error(`${service.name}: only services built from the Dockerfile are supported`);
    const dockerfilePath = join(ROOT, service.build.context, service.build.dockerfile);
    if (!dockerfiles.has(dockerfilePath)) dockerfiles.set(dockerfilePath, parseDockerfile(await readFile(dockerfilePath, 'utf8')));
    const instructions = dockerfiles.get(dockerfilePath)!;
    imageHealthcheck = execForm(instructions, 'HEALTHCHECK');
    const ownPorts = listen.get(service.name)!;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...imageEnv(instructions), ...service.environment })) {
      let mapped = rewriteDatabaseUrl(value, rewriteUrl(value, service.name));
      if (/^\d+$/.test(value) && ownPorts.has(Number(value))) mapped = String(ownPorts.get(Number(value)));
      if (value.startsWith('/')) mapped = join(rootfs, value);
      env[key] = mapped;
    }
    for (const volume of service.volumes) await mkdir(join(rootfs, volume.target), { recursive: true });
    env.AUTH_HOST = '127.0.0.1';
    env.RS_HOST = '127.0.0.1';
    const command = (service.command ?? execForm(instructions, 'CMD'))!.map((arg) => rewriteUrl(arg, service.name));
    const healthcheck =
      service.healthcheck?.test[0] === 'CMD' ? service.healthcheck.test.slice(1).map((arg) => rewriteUrl(arg, service.name)) : undefined;

    for (const [dependency, condition] of Object.entries(service.dependsOn)) {
      // The stand-in database is up before anything starts.
      if (condition === 'service_healthy' && !postgres.has(dependency)) await waitHealthy(services.get(dependency)!, rootfs, workdir);
    }

    const [program, ...args] = command;
    const child = spawn(program === 'node' ? process.execPath : program!, args, {
      cwd: join(rootfs, workdir),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(rootfs, 'home', 'node'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    const port = service.ports[0];
    const forwarder = port ? await forward(published.get(port.published)!, ownPorts.get(port.target)!) : undefined;
    children.set(service.name, { child, exited, forwarder });
    services.set(service.name, {
      name: service.name,
      command,
      env,
      port: port ? ownPorts.get(port.target)! : 0,
      publishedPort: port ? published.get(port.published)! : 0,
      healthcheck,
      output: () => output,
      unpublish: () => new Promise<void>((done) => (forwarder ? forwarder.close(() => done()) : done())),
    });
  }
  for (const service of services.values()) await waitHealthy(service, rootfs, workdir);

  const exec = (name: string, command: string[]) => run(command, services.get(name)!.env, join(rootfs, workdir));
  return {
    services,
    rootfs,
    imageHealthcheck,
    exec,
    postgres,
    async down() {
      const codes: Record<string, number | null> = {};
      for (const [name, { child, exited, forwarder }] of [...children].reverse()) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        // docker stop: SIGKILL after 10 s.
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        codes[name] = await exited;
        clearTimeout(timer);
        forwarder?.close();
      }
      await rm(rootfs, { recursive: true, force: true });
      for (const standIn of postgres.values()) await standIn.drop();
      return codes;
    },
  };
}

/** depends_on first. */
function startOrder(services: ComposeService[]): ComposeService[] {
  const ordered: ComposeService[] = [];
  const visit = (service: ComposeService, path: string[]) => {
    if (ordered.includes(service)) return;
    if (path.includes(service.name)) throw new Error(`depends_on cycle: ${[...path, service.name].join(' → ')}`);
    for (const dependency of Object.keys(service.dependsOn)) {
      const found = services.find((s) => s.name === dependency);
      if (!found) throw new Error(`${service.name} depends on unknown service ${dependency}`);
      visit(found, [...path, service.name]);
    }
    ordered.push(service);
  };
  for (const service of services) visit(service, []);
  return ordered;
}

async function waitHealthy(service: LocalService, rootfs: string, workdir: string): Promise<void> {
  if (!service.healthcheck) throw new Error(`${service.name} has no healthcheck to wait for`);
  const deadline = Date.now() + 30_000;
  while ((await run(service.healthcheck, service.env, join(rootfs, workdir))) !== 0) {
    if (Date.now() > deadline) throw new Error(`${service.name} never became healthy:\n${service.output()}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

async function run(command: string[], env: Record<string, string>, cwd: string): Promise<number | null> {
  const [program, ...args] = command;
  try {
    await promisify(execFile)(program === 'node' ? process.execPath : program!, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 10_000,
    });
    return 0;
  } catch (error) {
    return typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null;
  }
}

/** `COPY . .` into `target`: every file of the repository that .dockerignore lets into the build context. */
export async function copyBuildContext(target: string): Promise<string[]> {
  const ignored = dockerignore(await readFile(join(ROOT, '.dockerignore'), 'utf8'));
  const copied: string[] = [];
  for (const entry of await readdir(ROOT, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = relative(ROOT, join(entry.parentPath, entry.name));
    if (/^(node_modules|\.git)\//.test(path) || ignored(path)) continue;
    await mkdir(join(target, dirname(path)), { recursive: true });
    await copyFile(join(ROOT, path), join(target, path));
    copied.push(path);
  }
  return copied.sort();
}

/** A TCP forwarder 127.0.0.1:from → 127.0.0.1:to, like Docker's published ports. */
async function forward(from: number, to: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(to, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const close = server.close.bind(server);
  // Closing the published port also drops connections already open through it.
  server.close = (callback?: (error?: Error) => void) => {
    for (const socket of sockets) socket.destroy();
    return close(callback);
  };
  await new Promise<void>((done, fail) => server.once('error', fail).listen(from, '127.0.0.1', done));
  return server;
}
