import { parse } from 'yaml';

export interface ComposeService {
  name: string;
  build: { context: string; dockerfile: string } | undefined;
  image: string | undefined;
  /** Exec form; undefined = the image's CMD. */
  command: string[] | undefined;
  environment: Record<string, string>;
  ports: { hostIp: string | undefined; published: number; target: number }[];
  volumes: { source: string; target: string }[];
  dependsOn: Record<string, string>;
  healthcheck: { test: string[]; interval: string | undefined; retries: number | undefined } | undefined;
}

export interface ComposeFile {
  name: string | undefined;
  services: ComposeService[];
  volumes: string[];
}

type Raw = Record<string, any>;

/**
 * Reads the parts of a compose file that say how each container runs (short syntax for ports
 * and volumes, map or list for environment and depends_on).
 *
 * @example
 * const compose = loadCompose(await readFile('docker-compose.yml', 'utf8'));
 */
export function loadCompose(text: string): ComposeFile {
  const raw = parse(text, { merge: true }) as Raw;
  const services = Object.entries((raw.services ?? {}) as Record<string, Raw>).map(([name, s]): ComposeService => ({
    name,
    build:
      s.build === undefined
        ? undefined
        : typeof s.build === 'string'
          ? { context: s.build, dockerfile: 'Dockerfile' }
          : { context: s.build.context ?? '.', dockerfile: s.build.dockerfile ?? 'Dockerfile' },
    image: s.image,
    command: s.command === undefined ? undefined : Array.isArray(s.command) ? s.command.map(String) : ['/bin/sh', '-c', String(s.command)],
    environment: Array.isArray(s.environment)
      ? Object.fromEntries(s.environment.map((entry: string) => [entry.split('=')[0]!, entry.slice(entry.indexOf('=') + 1)]))
      : Object.fromEntries(Object.entries((s.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v ?? '')])),
    ports: ((s.ports ?? []) as unknown[]).map((port) => {
      const parts = String(port).split(':');
      const target = Number(parts.at(-1));
      const published = Number(parts.at(-2) ?? target);
      return { hostIp: parts.length === 3 ? parts[0] : undefined, published, target };
    }),
    volumes: ((s.volumes ?? []) as unknown[]).map((volume) => {
      const [source = '', target = ''] = String(volume).split(':');
      return { source, target };
    }),
    dependsOn: Array.isArray(s.depends_on)
      ? Object.fromEntries(s.depends_on.map((d: string) => [d, 'service_started']))
      : Object.fromEntries(
          Object.entries((s.depends_on ?? {}) as Record<string, Raw>).map(([k, v]) => [k, String(v.condition ?? 'service_started')]),
        ),
    healthcheck: s.healthcheck
      ? { test: (s.healthcheck.test as unknown[]).map(String), interval: s.healthcheck.interval, retries: s.healthcheck.retries }
      : undefined,
  }));
  return { name: raw.name, services, volumes: Object.keys(raw.volumes ?? {}) };
}
