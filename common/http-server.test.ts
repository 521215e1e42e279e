import { createServer, type Server } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, LOOPBACK, PortInUseError, portInUse, type RunningServer } from './http-server.ts';
import { answers, nonLoopbackHost } from './testing/non-loopback.ts';

const running: RunningServer[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  for (const blocker of blockers.splice(0)) await new Promise((done) => blocker.close(done));
});

function app(): Koa {
  const koa = new Koa();
  koa.use((ctx) => void (ctx.body = 'ok'));
  return koa;
}

async function start(host: string | undefined, port = 0): Promise<RunningServer> {
  const server = await listen(app(), port, host);
  running.push(server);
  return server;
}

async function hasIpv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((done) => probe.once('error', () => done(false)).listen(0, '::1', () => probe.close(() => done(true))));
}

describe('listen', () => {
  it('LOOPBACK binds 127.0.0.1 and ::1 (where the machine has IPv6) on one port, and no other address', async () => {
    const server = await start(LOOPBACK);
    const ipv6 = await hasIpv6Loopback();
    expect(server.addresses).toEqual(ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    expect(await answers('127.0.0.1', server.port)).toBe(true);
    if (ipv6) expect(await answers('[::1]', server.port)).toBe(true);
    const outside = nonLoopbackHost();
    if (outside) expect(await answers(outside, server.port), `not reachable at ${outside}`).toBe(false);
    expect(server.url).toBe(`http://localhost:${server.port}`);
  });

  it('0.0.0.0 is reachable from beyond loopback', async () => {
    const server = await start('0.0.0.0');
    expect(server.addresses).toEqual(['0.0.0.0']);
    const outside = nonLoopbackHost();
    if (outside?.startsWith('[')) {
      // Only an IPv6 address outside: 0.0.0.0 is IPv4 only, so bind :: to show the same thing.
      const all = await start('::');
      expect(await answers(outside, all.port)).toBe(true);
    } else if (outside) {
      expect(await answers(outside, server.port)).toBe(true);
    }
  });

  it('a taken port rejects with PortInUseError naming the port, and with the variable to change when asked', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    blockers.push(blocker);
    const port = (blocker.address() as { port: number }).port;
    const error = await listen(app(), port, LOOPBACK).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as PortInUseError).port).toBe(port);
    expect((error as PortInUseError).naming('AUTH_PORT').message).toBe(
      `port ${port} is already in use on 127.0.0.1 (is it already running?); stop the other process or pick another port with AUTH_PORT=<port>`,
    );
  });

  it('a port taken on ::1 only is taken too (a client resolving localhost to ::1 would reach the other process)', async () => {
    if (!(await hasIpv6Loopback())) {
      // Without IPv6 there is no ::1 to take: 127.0.0.1 alone decides.
      expect(await portInUse((await start('127.0.0.1')).port, LOOPBACK)).toBe(true);
      return;
    }
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '::1', done));
    blockers.push(blocker);
    const port = (blocker.address() as { port: number }).port;
    await expect(listen(app(), port, LOOPBACK)).rejects.toThrow(`port ${port} is already in use on ::1`);
    expect(await answers('127.0.0.1', port), 'the 127.0.0.1 listener was closed again').toBe(false);
  });

  it('portInUse tells a taken port from a free one, and leaves the free one free', async () => {
    const server = await start(LOOPBACK);
    expect(await portInUse(server.port, LOOPBACK)).toBe(true);
    expect(await portInUse(server.port, '127.0.0.1')).toBe(true);
    await server.close();
    expect(await portInUse(server.port, LOOPBACK)).toBe(false);
    const again = await start(LOOPBACK, server.port);
    expect(again.port).toBe(server.port);
  });
});
