import { Field, ObjectType } from "type-graphql";

/** Relay page information, shared by every connection. */
@ObjectType({ description: "Where a page is in its list (Relay connections)." })
export class PageInfo {
  @Field({ description: "More items follow this page." })
  hasNextPage: boolean;

  @Field({ description: "The page was read with `after`, so items come before it." })
  hasPreviousPage: boolean;

  @Field(() => String, { nullable: true, description: "The first edge's cursor; null for an empty page." })
  startCursor: string | null;

  @Field(() => String, { nullable: true, description: "The last edge's cursor: pass it as `after` for the next page; null for an empty page." })
  endCursor: string | null;
}

/** The PageInfo of a service page. */
export function pageInfoOf(page: { nodes: Array<{ cursor: string }>; hasNextPage: boolean; hasPreviousPage: boolean }): PageInfo {
  return {
    hasNextPage: page.hasNextPage,
    hasPreviousPage: page.hasPreviousPage,
    startCursor: page.nodes[0]?.cursor ?? null,
    endCursor: page.nodes[page.nodes.length - 1]?.cursor ?? null,
  };
}

/** Shapes a service Page into a connection object. */
export function toConnection<T>(page: { nodes: Array<{ node: T; cursor: string }>; hasNextPage: boolean; hasPreviousPage: boolean; totalCount: number }) {
  return { edges: page.nodes, pageInfo: pageInfoOf(page), totalCount: page.totalCount };
}
