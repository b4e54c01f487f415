import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Inserts fully built entities (one, or several in one statement). Called with a concrete entity type, TypeORM's deep-partial insert
 * type rejects jsonb columns typed `Record<string, unknown>`; through this generic it does not.
 */
export async function insertRow<T extends ObjectLiteral>(manager: EntityManager, target: EntityTarget<T>, row: T | T[]): Promise<void> {
  await manager.insert(target, row);
}
