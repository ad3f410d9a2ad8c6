import { PERMISSION_KEYS, type Permissions } from "../entities/participant.entity";

/** Role defaults overlaid with a participant's own grants (grants win, in both directions). */
export function effectivePermissions(defaults: Permissions, grants: Partial<Permissions>): Permissions {
  const result = { ...defaults };
  for (const key of PERMISSION_KEYS) {
    if (typeof grants[key] === "boolean") result[key] = grants[key] as boolean;
  }
  return result;
}

/** Only the known permission keys with boolean values: what may be stored as grants. */
export function cleanGrants(input: Partial<Record<string, unknown>>): Partial<Permissions> {
  const grants: Partial<Permissions> = {};
  for (const key of PERMISSION_KEYS) {
    if (typeof input[key] === "boolean") grants[key] = input[key] as boolean;
  }
  return grants;
}
