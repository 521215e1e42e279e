import { releaseStartupMemory } from '../common/startup-memory.ts';
import { ConfigError } from '../common/config-error.ts';
import { listen, onShutdownSignal, PortInUseError, portVariable } from '../common/http-server.ts';
import { metricsApp } from '../common/metrics.ts';
import { createLogger, prettyLogs } from '../common/logger.ts';
import { unknownSettings } from '../common/unknown-env.ts';
import { createAuthServer } from './app.ts';
import { loadConfig } from './config.ts';
import { demoAccountLines, ensureDemoUser } from './demo-user.ts';
import { EncryptionKeyError } from './keys/secrets-at-rest.ts';
import { SigningKeyStoreError } from './keys/signing-key-store.ts';
import { loadSigningKeys, openSigningKeys } from './keys/signing-keys.ts';
import { loadVaultKeys } from './upstream/token-vault.ts';
import { provisionResourceServerClient } from './provider/resource-server-client.ts';
import { openStorage } from './storage/open-storage.ts';
import { AccountExistsError } from './storage/store.ts';
import { startSweeper } from './storage/sweeper.ts';

/** Entry point of `npm run auth-server`. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'auth-server', level: config.logLevel, pretty: prettyLogs(config.logFormat, config.nodeEnv) });
  for (const unknown of unknownSettings(process.env))
    logger.warn({ variable: unknown.variable, closest: unknown.closest }, unknown.message);
  // Before storage: a production server keeping upstream tokens without AUTH_ENCRYPTION_KEY stops here.
  const encryption = await loadVaultKeys(config);
  const storage = await openStorage(config, {
    onError: (error) => logger.warn({ err: error }, 'database connection lost; the pool will reconnect'),
  });
  const signingKeys = await openSigningKeys(config, storage);
  const initial = await loadSigningKeys(signingKeys);
  // After the signing keys: a database store that must first be migrated to refuses before it makes any.
  const cookieKeys = await signingKeys.store.loadCookieKeys();
  const { app, metrics, provider, live } = createAuthServer({
    config,
    storage,
    keys: { cookieKeys },
    signingKeys: { keys: signingKeys, initial },
    logger,
    encryption,
  });
  await provisionResourceServerClient(provider(), storage.models, config, logger);
  const stopSweeper = startSweeper(storage.models, config.sweepIntervalMs, logger);
  // Before listening: once /healthz answers, setup is over and a SIGTERM finds its handler.
  if (config.createDemoUser) {
    // Instances starting together on one empty database race to create it; the loser has nothing to print.
    const demo = await ensureDemoUser(storage.accounts).catch((error: unknown) => {
      if (error instanceof AccountExistsError) return undefined;
      throw error;
    });
    if (demo) {
      // Printed once, on the first start with an empty account table; not a log line on purpose.
      process.stdout.write(`\n${demoAccountLines(demo).join('\n')}\n\n`);
    }
  }

  const server = await listen(app, config.port, config.host).catch(portVariable('AUTH_PORT'));
  const metricsServer =
    config.metrics.port === undefined
      ? undefined
      : await listen(metricsApp(metrics.registry), config.metrics.port, config.host).catch(portVariable('AUTH_METRICS_PORT'));
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'metrics listening');

  logger.info(
    { issuer: config.issuer, url: server.url, listening_on: server.addresses, resources: config.resources.map((r) => r.url) },
    'auth server ready',
  );
  // What loading and setup took and no longer needs (bench/FINDINGS.md): ~20 MB of idle RSS.
  releaseStartupMemory();
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    live.stop();
    await server.close();
    await metricsServer?.close();
    await stopSweeper();
    await storage.close();
  });
}

main().catch((error: unknown) => {
  // A person's mistake gets one line; only our bugs get a stack trace.
  if (
    error instanceof ConfigError ||
    error instanceof PortInUseError ||
    error instanceof SigningKeyStoreError ||
    error instanceof EncryptionKeyError
  ) {
    process.stderr.write(`auth-server: ${error.message}\n`);
    // A misspelt variable is a likely cause; the logger that would warn about it never started.
    for (const unknown of unknownSettings(process.env)) process.stderr.write(`auth-server: warning: ${unknown.message}\n`);
  } else {
    process.stderr.write(`auth-server failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
