/**
 * Whether GET `url` answers 2xx within `timeoutMs` (health checks: npm start, the container
 * HEALTHCHECK, benchmarks and tests all ask the same question).
 *
 * ```ts source="./health.examples.ts#isHealthy"
 * await isHealthy('http://127.0.0.1:3000/healthz'); // true once the auth server is up
 * ```
 */
export async function isHealthy(url: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
