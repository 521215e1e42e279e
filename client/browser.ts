import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { CliError } from './http.ts';

/**
 * Whether a browser can be opened here: $BROWSER says so; an SSH session or a Linux box without
 * a display says no (the device flow is the better choice there).
 */
export function canOpenBrowser(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  if (env.BROWSER) return true;
  if (env.SSH_CONNECTION || env.SSH_TTY || env.SSH_CLIENT) return false;
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd') return !!(env.DISPLAY || env.WAYLAND_DISPLAY);
  return true;
}

/**
 * Opens `url` with $BROWSER (split on spaces, the URL as the last argument, no shell) or the
 * platform opener. Never waits and never fails the login: the URL is printed anyway.
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): void {
  const [command, ...args] = env.BROWSER
    ? [...env.BROWSER.split(' ').filter(Boolean), url]
    : process.platform === 'darwin'
      ? ['open', url]
      : process.platform === 'win32'
        ? ['rundll32', 'url.dll,FileProtocolHandler', url]
        : ['xdg-open', url];
  try {
    const child = spawn(command!, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // The printed URL is the fallback.
  }
}

const PAGE = (title: string, text: string) => `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>`;

export interface LoopbackCallback {
  redirectUri: string;
  /** Resolves with the full callback URL the browser was sent to. */
  result: Promise<URL>;
  close(): void;
}

/**
 * A one-shot HTTP server on 127.0.0.1 and a random port for the authorization response
 * (RFC 8252 §7.3). Only /callback counts; anything else (favicon…) gets a 404.
 */
export async function listenForCallback(timeoutMs = 300_000): Promise<LoopbackCallback> {
  let settle!: (url: URL) => void;
  let fail!: (error: Error) => void;
  const result = new Promise<URL>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1`);
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const error = url.searchParams.get('error');
    res.writeHead(error ? 400 : 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(
      error
        ? PAGE('Sign-in failed', 'The authorization server refused the request. See the terminal for details.')
        : PAGE('Signed in', 'You can close this window and return to the terminal.'),
    );
    settle(new URL(`http://127.0.0.1:${port}${req.url}`));
  });
  await new Promise<void>((done, reject) => server.once('error', reject).listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  const timer = setTimeout(
    () => fail(new CliError(`no sign-in within ${Math.round(timeoutMs / 1000)} s; run the command again`)),
    timeoutMs,
  );
  timer.unref();
  const close = () => {
    clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  };
  void result.then(close, close);
  return { redirectUri: `http://127.0.0.1:${port}/callback`, result, close };
}
