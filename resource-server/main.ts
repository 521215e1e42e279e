import { createLogger, prettyLogs } from '../common/logger.ts';
import { releaseStartupMemory } from '../common/startup-memory.ts';
import { unknownSettings } from '../common/unknown-env.ts';
import { ConfigError } from '../common/config-error.ts';
import { listen, onShutdownSignal, PortInUseError, portVariable, type RunningServer } from '../common/http-server.ts';
import { metricsApp } from '../common/metrics.ts';
import { createResourceServer } from './app.ts';
import { loadConfig } from './config.ts';
import { configuredTools } from './tools-module.ts';

/** `npm run resource-server`: read the environment, serve, stop cleanly on SIGTERM/SIGINT. */
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`resource-server: ${error.message}`);
  // A misspelt variable is a likely cause; the logger that would warn about it never started.
  for (const unknown of unknownSettings(process.env)) console.error(`resource-server: warning: ${unknown.message}`);
  process.exit(1);
}

const log = createLogger({ name: 'resource-server', level: config.logLevel, pretty: prettyLogs(config.logFormat, config.nodeEnv) });
for (const unknown of unknownSettings(process.env)) log.warn({ variable: unknown.variable, closest: unknown.closest }, unknown.message);
let tools;
try {
  tools = await configuredTools(config);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`resource-server: ${error.message}`);
  process.exit(1);
}
const resourceServer = createResourceServer(config, { logger: log, ...(tools ? { tools } : {}) });
let http: RunningServer;
let metricsServer: RunningServer | undefined;
try {
  http = await listen(resourceServer.app, config.port, config.host).catch(portVariable('RS_PORT'));
  metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await listen(metricsApp(resourceServer.metrics.registry), config.metricsPort, config.host).catch(portVariable('RS_METRICS_PORT'));
} catch (error) {
  // A taken port is a person's situation, not our bug: one line, no stack trace.
  if (!(error instanceof PortInUseError)) throw error;
  console.error(`resource-server: ${error.message}`);
  process.exit(1);
}
if (metricsServer) log.info({ url: `${metricsServer.url}/metrics` }, 'metrics listening');
log.info(
  { mcp: config.resourceUrl, listening: http.url, listening_on: http.addresses, issuer: config.issuer, stateless: config.stateless },
  `MCP endpoint ready at ${config.resourceUrl}`,
);
// What loading and setup took and no longer needs (bench/FINDINGS.md): ~20 MB of idle RSS.
releaseStartupMemory();

onShutdownSignal(async (signal) => {
  log.info({ signal }, 'shutting down');
  // Stop accepting first, then end sessions (their open SSE streams would hold the close).
  const stopped = http.close();
  await resourceServer.close();
  // Ended SSE streams leave keep-alive sockets idle only now: close them too.
  await new Promise((resolve) => setImmediate(resolve));
  http.closeIdleConnections();
  await stopped;
  await metricsServer?.close();
  log.flush();
});
