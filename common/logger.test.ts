import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ACCESS_FIELD_NAMES, accessLog, createLogger, REDACT_PATHS } from './logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    { name: 'test', level: 'debug', pretty: false },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { log, lines };
}

describe('logger redaction', () => {
  it('redacts every listed path, at the top and one level down, on the logger and its children', () => {
    const { log, lines } = capture();
    log.info({ password: 'p', body: { client_secret: 's', code: 'c' }, headers: { authorization: 'Bearer t' } }, 'x');
    log.child({ request: 1 }).info({ form: { refresh_token: 'r' } }, 'y');
    expect(JSON.stringify(lines)).not.toMatch(/"(p|s|c|r|Bearer t)"/);
    expect(lines[0]).toMatchObject({ password: '[redacted]', body: { client_secret: '[redacted]', code: '[redacted]' } });
  });

  it('an access line keeps its fields as given, and the logger it came from still redacts', () => {
    const { log, lines } = capture();
    const access = accessLog(log);
    access(
      'info',
      { method: 'POST', path: '/token', status: 200, ms: 1.5, client_id: 'app', sub: 'alice', methods: ['tools/call'] },
      'request',
    );
    log.info({ password: 'p' }, 'after');
    expect(lines[0]).toMatchObject({
      method: 'POST',
      path: '/token',
      status: 200,
      client_id: 'app',
      sub: 'alice',
      methods: ['tools/call'],
    });
    expect(lines[1]).toMatchObject({ password: '[redacted]' });
  });

  it('an access line can carry no field a redact path names (a type error, checked by tsc)', () => {
    const { log, lines } = capture();
    const access = accessLog(log);
    // @ts-expect-error a token is not an access field
    access('info', { token: 'secret' }, 'request');
    // @ts-expect-error nor is an authorization header
    access('info', { headers: { authorization: 'Bearer t' } }, 'request');
    for (const path of REDACT_PATHS) expect(ACCESS_FIELD_NAMES.has(path.split(/[.[]/)[0]!), path).toBe(false);
    expect(lines).toHaveLength(2);
  });
});
