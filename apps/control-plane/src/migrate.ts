import { loadConfig } from './config/app-config.js';
import { createDataSource, ensureDatabaseExists } from './database/data-source.js';

/** `npm run migrate [-- up|down|status]` */
async function main(): Promise<void> {
  const command = process.argv[2] ?? 'up';
  const config = loadConfig();
  if (config.database.createIfMissing) await ensureDatabaseExists(config.database.url);
  const dataSource = createDataSource(config.database.url);
  await dataSource.initialize();
  try {
    if (command === 'up') {
      const ran = await dataSource.runMigrations({ transaction: 'each' });
      console.log(ran.length ? `applied: ${ran.map((m) => m.name).join(', ')}` : 'database is up to date');
    } else if (command === 'down') {
      await dataSource.undoLastMigration({ transaction: 'each' });
      console.log('reverted the last migration');
    } else if (command === 'status') {
      const pending = await dataSource.showMigrations();
      console.log(pending ? 'migrations pending' : 'database is up to date');
    } else {
      throw new Error(`unknown command "${command}" (use up, down or status)`);
    }
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
