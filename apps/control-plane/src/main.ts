import { ConfigError, loadConfig, redactedConfig, servesClients } from './config/app-config.js';
import { createApp } from './app.js';
import { loggerFor, rootLogger } from './common/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  rootLogger(config.logLevel);
  const log = loggerFor('main');
  log.info({ config: redactedConfig(config) }, 'starting control plane');
  const app = await createApp(config);
  if (!servesClients(config)) {
    // A worker runs the jobs and webhook deliveries and listens on nothing.
    await app.init();
    log.info({ role: config.role }, 'control plane worker running');
    return;
  }
  await app.listen(config.http.port, config.http.host);
  log.info({ role: config.role, url: config.http.publicUrl, docs: `${config.http.publicUrl}/api/docs` }, 'control plane listening');
}

main().catch((error: unknown) => {
  loggerFor('main').fatal({ err: error }, 'control plane failed to start');
  process.exit(1);
});
