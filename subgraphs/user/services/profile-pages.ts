import type { EntityManager } from "@mikro-orm/postgresql";

import type { Page, Position } from "../../../platform/graphql/page-info.type";
import { UserProfile } from "../entities/user-profile.entity";

export interface ProfilePageRequest {
  first: number;
  after: Position | null;
  /** Matched anywhere in the display name, case-insensitively. */
  search: string | null;
}

/**
 * A newest-first page of profiles and the total, in one statement: the total rides on every row
 * as a scalar subquery. Only past the last page, where no row carries it, is it counted apart.
 */
export async function profilePage(
  em: EntityManager,
  request: ProfilePageRequest,
): Promise<Page<UserProfile>> {
  const pattern = request.search ? `%${request.search.replace(/[\\%_]/g, "\\$&")}%` : null;
  const after = request.after;
  const rows: (Record<string, unknown> & { total_count: string })[] = await em.getConnection().execute(
    `select p.*, (select count(*) from profiles s where ?::text is null or s.display_name ilike ?) as total_count
     from profiles p
     where (?::text is null or p.display_name ilike ?)
       and (?::timestamptz is null or (p.created_at, p.user_id) < (?::timestamptz, ?::uuid))
     order by p.created_at desc, p.user_id desc
     limit ?`,
    [
      pattern,
      pattern,
      pattern,
      pattern,
      after?.createdAt ?? null,
      after?.createdAt ?? null,
      after?.id ?? null,
      request.first + 1,
    ],
  );
  const totalCount = rows[0]
    ? Number(rows[0].total_count)
    : after
      ? await em.count(UserProfile, pattern ? { displayName: { $ilike: pattern } } : {})
      : 0;
  return {
    rows: rows.slice(0, request.first).map((row) => em.map(UserProfile, row)),
    hasNextPage: rows.length > request.first,
    totalCount,
  };
}
