import { Kind, type FieldNode, type GraphQLResolveInfo } from "graphql";

const selections = new WeakMap<FieldNode, ReadonlySet<string> | null>();

/**
 * The names of the fields a resolver's client selects directly below it, or undefined when a
 * fragment (or the same field asked twice under one name) makes that a question for the
 * executor: the caller then computes everything. Worked out once per document node.
 */
export function selectedFieldNames(info: GraphQLResolveInfo): ReadonlySet<string> | undefined {
  const node = info.fieldNodes[0];
  let names = selections.get(node);
  if (names === undefined) {
    const fields = info.fieldNodes.length === 1 ? (node.selectionSet?.selections ?? []) : [];
    const simple = info.fieldNodes.length === 1 && fields.every((selection) => selection.kind === Kind.FIELD);
    names = simple ? new Set((fields as FieldNode[]).map((field) => field.name.value)) : null;
    selections.set(node, names);
  }
  return names ?? undefined;
}
