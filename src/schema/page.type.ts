import { Field, ObjectType } from "type-graphql";

/** Relay page information, shared by every connection. */
@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field()
  hasPreviousPage: boolean;

  @Field(() => String, { nullable: true })
  startCursor: string | null;

  @Field(() => String, { nullable: true })
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
