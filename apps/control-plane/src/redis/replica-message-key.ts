import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { SEAL_KEY_BYTES } from './replica-message-seal.js';

/**
 * The replicas' shared MAC key, kept in the database (which every replica already trusts) and never
 * in Redis. The first replica to start inserts one; a concurrent start loses the insert and reads
 * the winner's key.
 */
export async function loadOrCreateReplicaMessageKey(dataSource: DataSource): Promise<Buffer> {
  await dataSource.query('INSERT INTO replica_message_keys (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [randomBytes(SEAL_KEY_BYTES)]);
  const rows = await dataSource.query<Array<{ key: Buffer }>>('SELECT key FROM replica_message_keys WHERE id = 1');
  const key = rows[0]?.key;
  if (!key || key.length < SEAL_KEY_BYTES) throw new Error('replica message key missing or too short in replica_message_keys');
  return key;
}
