import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';

/**
 * Inserts a fully built entity. TypeORM's deep-partial insert type cannot express jsonb columns
 * typed as `Record<string, unknown>`; the entity is complete, so the cast loses nothing.
 */
export async function insertRow<T extends ObjectLiteral>(manager: EntityManager, target: EntityTarget<T>, row: T): Promise<void> {
  await manager.insert(target, row as unknown as QueryDeepPartialEntity<T>);
}
