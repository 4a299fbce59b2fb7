import { Arg, Directive, Field, Int, ObjectType } from "type-graphql";
import { z } from "zod";

import { isUuid } from "../database/loaders";
import { badUserInput } from "../errors";
import { validateInput } from "./validation";

/** Relay-style page info; shared by every subgraph that paginates, so it is @shareable. */
@ObjectType({ description: "Where a page of a list ends, and whether more follow" })
@Directive("@shareable")
export class PageInfo {
  @Field({ description: "True when a page follows this one" })
  hasNextPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: "The last cursor of the page, to pass as `after`; null when empty",
  })
  endCursor!: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;

/**
 * `first` of every paginated field, as the public API declares it: `first: Int = 20`. Nullable, so
 * a client's `$first: Int` variable may carry null, which means the default (pageSize()).
 */
export const FirstArg = () => Arg("first", () => Int, { defaultValue: DEFAULT_PAGE_SIZE, nullable: true });

/** `first` of every paginated field. */
export const pageSizeSchema = z
  .number()
  .int()
  .min(1, { error: "must be between 1 and 100" })
  .max(100, { error: "must be between 1 and 100" });

/** The page size a nullable `first` asks for; outside 1 to 100 it is BAD_USER_INPUT on `first`. */
export const pageSize = (first: number | null | undefined): number =>
  validateInput(pageSizeSchema, first ?? DEFAULT_PAGE_SIZE, "first");

/** Where a newest-first list stopped: the last row's creation time and id (the tie-breaker). */
export interface Position {
  createdAt: string;
  id: string;
}

export function positionCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString("base64url");
}

/** Decodes `after`; anything that is not a cursor this API handed out is BAD_USER_INPUT, never a SQL error. */
export function decodePosition(after: string | null | undefined): Position | null {
  if (!after) return null;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(after, "base64url").toString("utf8"));
  } catch {
    parts = null;
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 2 ||
    typeof parts[0] !== "string" ||
    Number.isNaN(Date.parse(parts[0])) ||
    typeof parts[1] !== "string" ||
    !isUuid(parts[1])
  ) {
    throw badUserInput("after", "after: not a cursor from this list");
  }
  return { createdAt: parts[0], id: parts[1] };
}

/** One page of a newest-first list, as a query returns it. */
export interface Page<Row> {
  rows: Row[];
  hasNextPage: boolean;
  totalCount: number;
}

/** A page as a Relay connection: edges with cursors, page info, total. */
export function toConnection<Row, Node>(
  page: Page<Row>,
  positionOf: (row: Row) => { createdAt: Date; id: string },
  nodeOf: (row: Row) => Node,
) {
  const edges = page.rows.map((row) => {
    const { createdAt, id } = positionOf(row);
    return { cursor: positionCursor(createdAt, id), node: nodeOf(row) };
  });
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
