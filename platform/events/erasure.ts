import type { EntityManager } from "@mikro-orm/postgresql";

/**
 * Serialises a handler's work on one user with that user's erasure (a transaction-scoped advisory
 * lock), then says whether the user was already erased here. Every handler that writes a user's
 * data calls this first inside its transaction and writes nothing when it returns true.
 */
export async function userErased(em: EntityManager, userId: string): Promise<boolean> {
  await em.execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`orion.user:${userId}`]);
  const rows = await em.execute<{ user_id: string }[]>(`select user_id from erased_users where user_id = ?`, [
    userId,
  ]);
  return rows.length > 0;
}

/** Marks the user erased in this subgraph; call in the same transaction as the deletion. */
export async function markErased(em: EntityManager, userId: string): Promise<void> {
  await em.execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`orion.user:${userId}`]);
  await em.execute(`insert into erased_users (user_id, erased_at) values (?, now()) on conflict do nothing`, [
    userId,
  ]);
}

/**
 * `userErased` for many users at once: takes their locks in sorted order (so two batches never
 * deadlock) and answers which of them were erased here.
 */
export async function erasedAmong(em: EntityManager, userIds: Iterable<string>): Promise<Set<string>> {
  const ids = [...new Set(userIds)].sort();
  if (ids.length === 0) return new Set();
  await em.execute(
    // unnest yields the (sorted) array in order, and each row takes its lock as it is produced.
    `select pg_advisory_xact_lock(hashtextextended('orion.user:' || id, 0)) from unnest(?::text[]) as u(id)`,
    [`{${ids.join(",")}}`],
  );
  const rows = await em.execute<{ user_id: string }[]>(
    `select user_id from erased_users where user_id = any(?::uuid[])`,
    [`{${ids.join(",")}}`],
  );
  return new Set(rows.map((row) => row.user_id));
}
