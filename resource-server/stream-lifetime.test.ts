import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import { streamLifetime } from './stream-lifetime.ts';
import { watchStream } from './testing/test-server.ts';

// The revocation half runs against a real auth server and feed in revocation.test.ts.

const log = createLogger({ name: 'test', level: 'silent', pretty: false });
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A real event stream on loopback, bound to `auth` with the given clock; reads whether it ended. */
async function streamFor(auth: AuthInfo, now: () => number, toleranceSec = 0) {
  const bind = streamLifetime({ log, now, toleranceSec });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
    bind(res, auth);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return watchStream(await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`));
}

const token = (expiresAt: number | undefined): AuthInfo => ({
  token: 't',
  clientId: 'app',
  scopes: [],
  expiresAt,
  extra: { sub: 'alice' },
});

describe('streamLifetime', () => {
  it("ends the stream when its token's exp is reached", async () => {
    const exp = 1_900_000_000;
    // The clock says exp is 1 ms away.
    const stream = await streamFor(token(exp), () => exp * 1000 - 1);
    await stream.done;
    expect(stream.ended).toBe(true);
  });

  it('ends at once a stream whose token expired meanwhile', async () => {
    const stream = await streamFor(token(1_900_000_000), () => 1_900_000_001_000);
    await stream.done;
    expect(stream.ended).toBe(true);
  });

  it('keeps a stream open past exp within the clock tolerance the token gate allows, and ends it after', async () => {
    const exp = 1_900_000_000;
    const within = await streamFor(token(exp), () => exp * 1000 + 20_000, 30);
    const after = await streamFor(token(exp), () => exp * 1000 + 31_000, 30);
    await after.done;
    expect(after.ended).toBe(true);
    expect(within.ended).toBe(false);
  });

  it('keeps a stream open while its token is valid, and one whose token has no exp', async () => {
    const exp = 1_900_000_000;
    const valid = await streamFor(token(exp), () => exp * 1000 - 600_000);
    const noExp = await streamFor(token(undefined), () => 0);
    // A full round trip on another stream later, neither has ended.
    const probe = await streamFor(token(exp), () => exp * 1000 - 1);
    await probe.done;
    expect(valid.ended).toBe(false);
    expect(noExp.ended).toBe(false);
  });
});
