import type { EntityManager, EntityTarget, ObjectLiteral } from "typeorm";
import { ApplyValueTransformers } from "typeorm/util/ApplyValueTransformers";

/**
 * An entity's columns for hand-written SQL on the hot paths: `alias.column AS prefixcolumn`
 * for each (or the bare names without an alias), so the list always follows the entity.
 */
export function selectColumns(manager: EntityManager, target: EntityTarget<ObjectLiteral>, alias?: string, prefix = ""): string {
  const metadata = manager.connection.getMetadata(target);
  const key = `${alias ?? ""} ${prefix}`;
  let lists = columnLists.get(metadata);
  if (!lists) columnLists.set(metadata, (lists = new Map()));
  let list = lists.get(key);
  if (list === undefined) {
    list = metadata.columns.map((c) => (alias ? `${alias}.${c.databaseName} AS ${prefix}${c.databaseName}` : c.databaseName)).join(", ");
    lists.set(key, list);
  }
  return list;
}

const columnLists = new WeakMap<object, Map<string, string>>();

/**
 * A raw row of hand-written SQL as the entity TypeORM would have made of it: columns mapped to
 * properties and value transformers applied (bigint clocks become numbers), a class instance
 * so callers may still hand it to tx.save(), without TypeORM's query builder and hydration.
 * `prefix` picks one table's columns out of a joined row (selectColumns' prefix).
 */
export function entityFromRow<T extends ObjectLiteral>(manager: EntityManager, target: EntityTarget<T>, row: Record<string, unknown>, prefix = ""): T {
  const metadata = manager.connection.getMetadata(target);
  const entity = metadata.create() as T;
  for (const column of metadata.columns) {
    const key = prefix + column.databaseName;
    if (!(key in row)) continue;
    const value = row[key];
    column.setEntityValue(entity, column.transformer && value !== null ? ApplyValueTransformers.transformFrom(column.transformer, value) : value);
  }
  return entity;
}

/**
 * A boolean SQL expression for a hand-written statement, over the aliases the statement
 * documents; `param(value)` binds a value and answers its placeholder.
 */
export type SqlCondition = (param: (value: unknown) => string) => string;
