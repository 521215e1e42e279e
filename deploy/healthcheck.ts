import { isHealthy } from '../common/health.ts';

/**
 * The containers' health check: exits 0 when GET /healthz answers 2xx within 3 s, else 1.
 *
 * `node deploy/healthcheck.ts <url>` checks that URL. Without one it checks this container's
 * server on loopback: one image runs either server, so whichever of AUTH_PORT (3000) and
 * RS_PORT (3001) answers is the one running here.
 *
 * @example
 * HEALTHCHECK CMD ["node", "deploy/healthcheck.ts"]
 * healthcheck: { test: ["CMD", "node", "deploy/healthcheck.ts", "http://127.0.0.1:3001/healthz"] }
 */
const urls = process.argv[2]
  ? [process.argv[2]]
  : [process.env.AUTH_PORT || '3000', process.env.RS_PORT || '3001'].map((port) => `http://127.0.0.1:${port}/healthz`);

const results = await Promise.all(urls.map((url) => isHealthy(url, 3_000)));
process.exit(results.some(Boolean) ? 0 : 1);
