import { Writable } from 'node:stream';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from './http-server.ts';
import { createLogger } from './logger.ts';
import { requestLog } from './request-log.ts';

const running: RunningServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

/** A server logging its requests at `level` in the given format; returns what it wrote. */
async function serverLogging(pretty: boolean, level = 'info'): Promise<{ url: string; output: () => string }> {
  let output = '';
  const log = createLogger(
    { name: 'test-server', level, pretty },
    new Writable({
      write(chunk, _enc, done) {
        output += String(chunk);
        done();
      },
    }),
  );
  const app = new Koa();
  app.use(requestLog(log));
  app.use((ctx) => {
    ctx.status = ctx.path === '/missing' ? 404 : 200;
    ctx.body = 'ok';
  });
  const server = await listen(app, 0, '127.0.0.1');
  running.push(server);
  return { url: `http://127.0.0.1:${server.port}`, output: () => output };
}

describe('request log', () => {
  it('pretty: one line per request with method, path, status and duration, never the query', async () => {
    const server = await serverLogging(true);
    await (await fetch(`${server.url}/token?code=secret-code`)).text();
    await (await fetch(`${server.url}/missing`)).text();
    const lines = server.output().split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(test-server\): GET \/token 200 \d+(\.\d)? ms\s*$/);
    expect(lines[1]).toMatch(/INFO \(test-server\): GET \/missing 404 \d+(\.\d)? ms\s*$/);
    expect(server.output()).not.toContain('secret-code');
  });

  it('pretty at debug: the details (ip) follow on one more line', async () => {
    const server = await serverLogging(true, 'debug');
    await (await fetch(`${server.url}/token`)).text();
    const lines = server.output().split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/DEBUG \(test-server\): request details .*"ip":"127\.0\.0\.1"/);
  });

  it('pretty: any record, with fields, stays on one line', () => {
    let output = '';
    const log = createLogger(
      { name: 'auth-server', level: 'info', pretty: true },
      new Writable({
        write(chunk, _enc, done) {
          output += String(chunk);
          done();
        },
      }),
    );
    log
      .child({ audit: true })
      .info({ event: 'login.success', sub: 'abc', username: 'alice', client_id: 'c1', ip: '127.0.0.1' }, 'login ok');
    expect(output.split('\n').filter(Boolean)).toHaveLength(1);
    expect(output).toMatch(/INFO \(auth-server\): login ok \{.*"username":"alice".*\}/);
  });

  it('JSON: one structured line per request with every field', async () => {
    const server = await serverLogging(false);
    await (await fetch(`${server.url}/token?code=secret-code`)).text();
    const lines = server
      .output()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request',
      method: 'GET',
      path: '/token',
      status: 200,
      ms: expect.any(Number),
      ip: '127.0.0.1',
      name: 'test-server',
    });
    expect(server.output()).not.toContain('secret-code');
  });
});
