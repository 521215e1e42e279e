import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { RESOURCE } from './harness.ts';

const MAIN = new URL('../main.ts', import.meta.url).pathname;

export interface AuthProcess {
  /** http://127.0.0.1:port — where this process listens (the issuer may be another URL). */
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr. */
  output(): string;
  /** Sends `signal` and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `node auth-server/main.ts` as its own process on `port` and resolves once /healthz
 * answers. Rate limits are off and logs are JSON at warn, unless `env` says otherwise.
 *
 * @example
 * const a = await spawnAuthServer(3100, { AUTH_ISSUER: 'http://localhost:3100', DATABASE_URL, KEYS_DIR });
 * …; await a.stop('SIGKILL');
 */
export async function spawnAuthServer(port: number, env: Record<string, string>): Promise<AuthProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      AUTH_PORT: String(port),
      AUTH_HOST: '127.0.0.1',
      RS_RESOURCE_URL: RESOURCE,
      AUTH_RATE_LIMITS: 'false',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`auth server exited with ${child.exitCode}: ${output}`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 150) {
      child.kill('SIGKILL');
      throw new Error(`auth server not healthy after 15 s: ${output}`);
    }
    await sleep(100);
  }
  return {
    url,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
