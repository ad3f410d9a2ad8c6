import type { EntityManager, EntityMetadata, EntityTarget, ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
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
  for (const { key, column, property } of rowPlan(metadata, prefix)) {
    if (!(key in row)) continue;
    const value = row[key];
    if (property !== undefined) (entity as Record<string, unknown>)[property] = value;
    else column.setEntityValue(entity, column.transformer && value !== null ? ApplyValueTransformers.transformFrom(column.transformer, value) : value);
  }
  return entity;
}

/**
 * How entityFromRow fills an entity of `metadata` from columns named `prefix + column`: a plain
 * column (not embedded, no transformer) by assignment to its property, the others through
 * TypeORM's setter and transformers. Made once per entity and prefix.
 */
function rowPlan(metadata: EntityMetadata, prefix: string): Array<{ key: string; column: ColumnMetadata; property?: string }> {
  let plans = rowPlans.get(metadata);
  if (!plans) rowPlans.set(metadata, (plans = new Map()));
  let plan = plans.get(prefix);
  if (!plan) {
    plan = metadata.columns.map((column) => ({
      key: prefix + column.databaseName,
      column,
      property: column.embeddedMetadata || column.transformer || column.relationMetadata ? undefined : column.propertyName,
    }));
    plans.set(prefix, plan);
  }
  return plan;
}

const rowPlans = new WeakMap<EntityMetadata, Map<string, Array<{ key: string; column: ColumnMetadata; property?: string }>>>();

/**
 * A boolean SQL expression for a hand-written statement, over the aliases the statement
 * documents; `param(value)` binds a value and answers its placeholder.
 */
/** A row of a hand-written statement: its columns are the ones the statement names. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the statement, not a type, says what a row holds
export type SqlRow = Record<string, any>;

export type SqlCondition = (param: (value: unknown) => string) => string;

/** The `param` of a SqlCondition used in a TypeORM query builder: named parameters `:<prefix><n>`. */
export function typeormParam(qb: { setParameter(name: string, value: unknown): unknown }, prefix: string): (value: unknown) => string {
  let n = 0;
  return (value) => {
    const name = `${prefix}${n++}`;
    qb.setParameter(name, value);
    return `:${name}`;
  };
}

/** The rows of a statement with RETURNING: TypeORM answers [rows, affected] for UPDATE and DELETE, the rows otherwise. */
export function returnedRows<T>(result: unknown[]): T[] {
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") return result[0] as T[];
  return result as T[];
}
