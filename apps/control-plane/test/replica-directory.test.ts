import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaDirectory } from '../src/replicas/replica-directory.js';
import { startHarness, type Harness } from './support/harness.js';

/** The replica list agents ask for every few seconds, against the real database. */
describe('replica directory', () => {
  let cp: Harness;
  let directory: ReplicaDirectory;
  let db: DataSource;

  beforeAll(async () => {
    cp = await startHarness({ REPLICA_HEARTBEAT_MS: '5000' });
    directory = cp.app.get(ReplicaDirectory);
    db = cp.app.get(DataSource);
  }, 60_000);
  afterAll(async () => {
    await cp?.close();
  });

  const addReplica = async (url: string) => {
    const id = randomUUID();
    await db.query(`INSERT INTO replicas (id, name, agent_url, started_at, last_seen_at) VALUES ($1, $2, $3, now(), now())`, [id, `other-${id.slice(0, 8)}`, url]);
    return id;
  };

  it('answers many agents asking at once with one answer, and sees a new replica within a second', async () => {
    const first = await Promise.all(Array.from({ length: 50 }, () => directory.live()));
    expect(new Set(first).size).toBe(1); // the same array: one query served all fifty
    const id = await addReplica('http://10.0.0.9:8080');
    expect((await directory.live()).map((r) => r.id)).not.toContain(id); // the recent answer, reused
    await new Promise((r) => setTimeout(r, 1100));
    expect(await directory.live()).toContainEqual({ id, url: 'http://10.0.0.9:8080' });
  });

  it('does not keep a failed answer: the next ask queries again', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    await db.query('ALTER TABLE replicas RENAME TO replicas_away');
    try {
      await expect(directory.live()).rejects.toThrow(/replicas/);
    } finally {
      await db.query('ALTER TABLE replicas_away RENAME TO replicas');
    }
    const id = await addReplica('http://10.0.0.10:8080');
    expect((await directory.live()).map((r) => r.id)).toContain(id);
  });
});
