import type { EntityManager } from "../database/database";
import { KeyInUseError } from "./crypto-errors";
import { DataKeyRing, generateDataKey, newKeyId } from "./data-key-ring";
import { wrongKekError } from "./kek-config";
import { type KeyEncryptionKeys, UnwrapError } from "./key-encryption-keys";

/**
 * The `data_keys` table (data-key-table.ts) read and changed in SQL. Every change takes one advisory
 * lock, so replicas starting together create one key, and a rotation and a retirement never interleave.
 */

export type KeyPurpose = "data" | "index";
export type KeyState = "active" | "decrypt-only" | "retired";

export interface DataKeyInfo {
  id: string;
  purpose: KeyPurpose;
  state: KeyState;
  kekId: string;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface SubgraphKeys {
  ring: DataKeyRing;
  /** The blind-index key (blind-index.ts): long-lived, not rotated with the data keys. */
  indexKey: Buffer;
}

interface KeyRow {
  id: string;
  purpose: KeyPurpose;
  state: KeyState;
  kek_id: string;
  wrapped_key: Buffer | null;
  created_at: Date;
  retired_at: Date | null;
}

const LOCK = "orion.data_keys";
// The wrapped key is bound to its subgraph, purpose and id: a row copied from another database or purpose does not unwrap.
const wrapContext = (subgraph: string, purpose: KeyPurpose, id: string) => `${subgraph}\0${purpose}\0${id}`;

async function locked<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return em.transactional(async (tx) => {
    await tx.execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [LOCK]);
    return work(tx);
  });
}

async function insertKey(tx: EntityManager, keks: KeyEncryptionKeys, subgraph: string, purpose: KeyPurpose) {
  const id = newKeyId();
  const { kekId, wrapped } = await keks.wrap(generateDataKey(), wrapContext(subgraph, purpose, id));
  await tx.execute(
    `insert into data_keys (id, purpose, state, kek_id, wrapped_key) values (?, ?, 'active', ?, ?)`,
    [id, purpose, kekId, wrapped],
  );
  return id;
}

/**
 * Start-up: the subgraph's keys, unwrapped (a data key and an index key are created on first start).
 * A key wrapped by a KEK that is not configured, or that does not unwrap, stops start-up with an
 * error naming DATA_KEK: a subgraph never runs unable to read its own values.
 */
export async function loadSubgraphKeys(
  em: EntityManager,
  keks: KeyEncryptionKeys,
  subgraph: string,
): Promise<SubgraphKeys> {
  const rows = await locked(em, async (tx) => {
    const active = await tx.execute<{ purpose: KeyPurpose }[]>(
      `select purpose from data_keys where state = 'active'`,
    );
    for (const purpose of ["data", "index"] as const)
      if (!active.some((row) => row.purpose === purpose)) await insertKey(tx, keks, subgraph, purpose);
    return tx.execute<KeyRow[]>(`select * from data_keys where state <> 'retired' order by created_at`);
  });
  const unknown = [...new Set(rows.map((row) => row.kek_id).filter((id) => !keks.has(id)))];
  if (unknown.length > 0) throw wrongKekError(unknown);
  const keys = new Map<string, Buffer>();
  let activeDataKey: string | undefined;
  let indexKey: Buffer | undefined;
  for (const row of rows) {
    let key: Buffer;
    try {
      key = await keks.unwrap(
        { kekId: row.kek_id, wrapped: row.wrapped_key! },
        wrapContext(subgraph, row.purpose, row.id),
      );
    } catch (error) {
      if (error instanceof UnwrapError) throw wrongKekError([row.kek_id], "does not unwrap them");
      throw error;
    }
    if (row.purpose === "index") indexKey = key;
    else keys.set(row.id, key);
    if (row.purpose === "data" && row.state === "active") activeDataKey = row.id;
  }
  return { ring: new DataKeyRing(subgraph, activeDataKey!, keys), indexKey: indexKey! };
}

/** A new active data key; the previous one turns decrypt-only. New values use the new key once the ring is reloaded. */
export async function rotateDataKey(
  em: EntityManager,
  keks: KeyEncryptionKeys,
  subgraph: string,
): Promise<string> {
  return locked(em, async (tx) => {
    await tx.execute(
      `update data_keys set state = 'decrypt-only' where purpose = 'data' and state = 'active'`,
    );
    return insertKey(tx, keks, subgraph, "data");
  });
}

/**
 * Erases a decrypt-only data key. `countValuesUsing` is the caller's count of values still under it
 * (every encrypted column of the subgraph); any left, and the retirement is refused.
 */
export async function retireDataKey(
  em: EntityManager,
  keyId: string,
  countValuesUsing: (keyId: string) => Promise<number>,
): Promise<void> {
  await locked(em, async (tx) => {
    const [row] = await tx.execute<KeyRow[]>(`select * from data_keys where id = ?`, [keyId]);
    if (!row || row.purpose !== "data") throw new KeyInUseError(keyId, "no such data key");
    if (row.state === "retired") return;
    if (row.state === "active") throw new KeyInUseError(keyId, "it is the active key; rotate first");
    const inUse = await countValuesUsing(keyId);
    if (inUse > 0) throw new KeyInUseError(keyId, `${inUse} values still use it`);
    await tx.execute(
      `update data_keys set state = 'retired', wrapped_key = null, retired_at = now() where id = ?`,
      [keyId],
    );
  });
}

/** KEK rotation: every live key wrapped by an older KEK is wrapped again by the active one. */
export async function rewrapDataKeys(
  em: EntityManager,
  keks: KeyEncryptionKeys,
  subgraph: string,
): Promise<number> {
  return locked(em, async (tx) => {
    const stale = await tx.execute<KeyRow[]>(
      `select * from data_keys where state <> 'retired' and kek_id <> ?`,
      [keks.activeKekId],
    );
    for (const row of stale) {
      const context = wrapContext(subgraph, row.purpose, row.id);
      const key = await keks.unwrap({ kekId: row.kek_id, wrapped: row.wrapped_key! }, context);
      const { kekId, wrapped } = await keks.wrap(key, context);
      await tx.execute(`update data_keys set kek_id = ?, wrapped_key = ? where id = ?`, [
        kekId,
        wrapped,
        row.id,
      ]);
    }
    return stale.length;
  });
}

export async function listDataKeys(em: EntityManager): Promise<DataKeyInfo[]> {
  const rows = await em.execute<KeyRow[]>(`select * from data_keys order by created_at, purpose, id`);
  return rows.map((row) => ({
    id: row.id,
    purpose: row.purpose,
    state: row.state,
    kekId: row.kek_id,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  }));
}
