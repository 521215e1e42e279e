import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDemoAccount } from '../auth-server/demo-user.ts';
import { freePort } from '../common/free-port.ts';

export const ROOT = resolve(import.meta.dirname, '..');

export interface Stack {
  /** The issuer, as clients and the browser see it: http://localhost:<port>. */
  issuer: string;
  /** The MCP endpoint (the resource URL): http://localhost:<port>/mcp. */
  mcpUrl: string;
  /** The demo account that the first start created (role admin). */
  demo: { username: string; password: string };
  dataDir: string;
  keysDir: string;
  /** Everything `npm start` printed so far (stdout and stderr). */
  output(): string;
  /** `npm run users -- add <username> --password-stdin [--role R]…` against this stack's DATA_DIR. */
  addUser(username: string, password: string, roles?: string[]): Promise<void>;
  /** Ctrl-C: stops both servers and waits for `npm start` to exit; returns its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs `node start.mjs` (what `npm start` runs) on free ports with a fresh DATA_DIR and KEYS_DIR,
 * both servers bound to 127.0.0.1, and resolves once its banner says the stack is ready.
 *
 * @example
 * const stack = await startStack();
 * // … stack.mcpUrl, stack.demo …
 * await stack.stop();
 */
export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'e2e-stack-'));
  // A caller that must know the issuer before the start (an upstream's redirect URI) names the port.
  const authPort = env.AUTH_PORT ? Number(env.AUTH_PORT) : await freePort();
  const rsPort = env.RS_PORT ? Number(env.RS_PORT) : await freePort();
  const dataDir = join(dir, 'data');
  const keysDir = join(dir, 'keys');
  // If this test worker dies, start.mjs's stdin pipe ends and it stops the stack (SIGTERM).
  const stopWithWorker = `data:text/javascript,${encodeURIComponent("process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')); process.stdin.resume(); process.stdin.unref();")}`;
  const child = spawn(process.execPath, ['--import', stopWithWorker, 'start.mjs'], {
    cwd: ROOT,
    env: {
      ...process.env,
      AUTH_PORT: String(authPort),
      RS_PORT: String(rsPort),
      AUTH_HOST: '127.0.0.1',
      RS_HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      KEYS_DIR: keysDir,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));

  try {
    await waitFor(
      () => /mcp-oauth-stack is ready/.test(output),
      exited,
      30_000,
      () => `npm start did not get ready:\n${output}`,
    );
  } catch (error) {
    await stopChild(child, exited);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const demo = parseDemoAccount(output);
  if (!demo) {
    await stopChild(child, exited);
    throw new Error(`no demo account in the banner:\n${output}`);
  }
  const issuer = `http://localhost:${authPort}`;
  return {
    issuer,
    mcpUrl: `http://localhost:${rsPort}/mcp`,
    demo,
    dataDir,
    keysDir,
    output: () => output,
    addUser: (username, password, roles = []) => addUser(dataDir, username, password, roles),
    async stop() {
      const code = await stopChild(child, exited);
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}

async function waitFor(ready: () => boolean, exited: Promise<unknown>, timeoutMs: number, message: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (gone || Date.now() > deadline) throw new Error(message());
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

async function addUser(dataDir: string, username: string, password: string, roles: string[]): Promise<void> {
  const args = ['auth-server/cli/users.ts', 'add', username, '--password-stdin', ...roles.flatMap((r) => ['--role', r])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  child.stdin.end(password);
  const code = await new Promise<number | null>((done) => child.once('close', done));
  if (code !== 0) throw new Error(`npm run users -- add ${username} exited ${code}: ${output}`);
}
export { freePort } from '../common/free-port.ts';
