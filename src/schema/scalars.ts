import { DateTimeResolver, JSONResolver, SafeIntResolver } from "graphql-scalars";

/** The contract's scalars: DateTime (ISO 8601), JSON, SafeInt (up to 2^53 - 1). */
export const DateTimeScalar = DateTimeResolver;
export const JSONScalar = JSONResolver;
export const SafeIntScalar = SafeIntResolver;
