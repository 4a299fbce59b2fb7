import { ConfigError } from "../../platform/config";
import { KeyInUseError } from "../../platform/crypto/crypto-errors";
import {
  listDataKeys,
  loadSubgraphKeys,
  retireDataKey,
  rewrapDataKeys,
  rotateDataKey,
} from "../../platform/crypto/data-key-store";
import { DATA_KEY_MIGRATIONS } from "../../platform/crypto/data-key-table";
import { FieldCipher } from "../../platform/crypto/field-cipher";
import { generateKek, LocalKeyEncryptionKeys } from "../../platform/crypto/key-encryption-keys";
import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { createLogger } from "../../platform/logger";
import { IDEMPOTENCY_MIGRATIONS, IdempotencyRecord } from "../../platform/requests/idempotency-table";
import { databaseUrl, describeWithServices, runId } from "../support/services";

// The data_keys table on real PostgreSQL, as a subgraph and its replicas use it: keys created once,
// rotated, retired only when unused, and a wrong key-encryption key stopping start-up.

const logger = createLogger("test", "silent");
const RUN = runId();
const FIELD = { table: "users", column: "email", rowId: "u1" };
const kek = () => Buffer.from(generateKek(), "base64");
const keksOf = (...keys: Buffer[]) => new LocalKeyEncryptionKeys(keys);

describeWithServices(["postgres"], "data keys on PostgreSQL", () => {
  const opened: Database[] = [];
  const urls: string[] = [];
  afterAll(async () => {
    for (const db of opened) await db.close();
    for (const url of urls) await dropDatabase(url);
  });

  /** A fresh subgraph database with the platform's data_keys migration; `replica()` opens it again. */
  async function setup() {
    const url = databaseUrl(`orion_test_${RUN}_keys_${urls.length}`);
    urls.push(url);
    const open = async () => {
      const db = await openDatabase({
        url,
        entities: [IdempotencyRecord],
        migrations: [...IDEMPOTENCY_MIGRATIONS, ...DATA_KEY_MIGRATIONS],
        logger,
      });
      opened.push(db);
      return db.orm.em.fork();
    };
    const em = await open();
    return { em, replica: open };
  }

  test("replicas starting together create exactly one active data key and one index key, and share them", async () => {
    const { em, replica } = await setup();
    const keks = keksOf(kek());
    const others = await Promise.all([replica(), replica()]);

    const loaded = await Promise.all([em, ...others].map((one) => loadSubgraphKeys(one, keks, "user")));

    expect((await listDataKeys(em)).map((k) => [k.purpose, k.state])).toEqual([
      ["data", "active"],
      ["index", "active"],
    ]);
    const [first, ...rest] = loaded;
    for (const other of rest) {
      expect(other.ring.activeKeyId).toBe(first!.ring.activeKeyId);
      expect(other.indexKey).toEqual(first!.indexKey);
    }
    // What one replica encrypted, another decrypts.
    const stored = new FieldCipher(() => first!.ring).encrypt("ada@example.test", FIELD);
    expect(new FieldCipher(() => rest[0]!.ring).decrypt(stored, FIELD)).toBe("ada@example.test");
  });

  test("after a rotation new values use the new key and old ones still decrypt; the index key stays", async () => {
    const { em } = await setup();
    const keks = keksOf(kek());
    const before = await loadSubgraphKeys(em, keks, "user");
    const oldValue = new FieldCipher(() => before.ring).encrypt("ada@example.test", FIELD);

    const newKeyId = await rotateDataKey(em, keks, "user");
    const after = await loadSubgraphKeys(em, keks, "user");
    const cipher = new FieldCipher(() => after.ring);

    expect(after.ring.activeKeyId).toBe(newKeyId);
    expect(cipher.encrypt("bob@example.test", FIELD)).toMatch(new RegExp(`^v1\\.${newKeyId}\\.`));
    expect(cipher.decrypt(oldValue, FIELD)).toBe("ada@example.test");
    expect(after.indexKey).toEqual(before.indexKey);
    expect((await listDataKeys(em)).find((k) => k.id === before.ring.activeKeyId)?.state).toBe(
      "decrypt-only",
    );
  });

  test("a key still used by values, or still active, cannot be retired; an unused one is erased", async () => {
    const { em } = await setup();
    const keks = keksOf(kek());
    const oldKeyId = (await loadSubgraphKeys(em, keks, "user")).ring.activeKeyId;
    const newKeyId = await rotateDataKey(em, keks, "user");
    let valuesLeft = 3;
    const countValuesUsing = async (keyId: string) => (keyId === oldKeyId ? valuesLeft : 0);

    await expect(retireDataKey(em, oldKeyId, countValuesUsing)).rejects.toThrow(KeyInUseError);
    await expect(retireDataKey(em, oldKeyId, countValuesUsing)).rejects.toThrow(/3 values still use it/);
    await expect(retireDataKey(em, newKeyId, countValuesUsing)).rejects.toThrow(/active key/);
    valuesLeft = 0;
    await retireDataKey(em, oldKeyId, countValuesUsing);

    const [row] = await em.execute<{ state: string; wrapped_key: Buffer | null }[]>(
      `select state, wrapped_key from data_keys where id = ?`,
      [oldKeyId],
    );
    expect(row).toEqual({ state: "retired", wrapped_key: null });
    expect((await loadSubgraphKeys(em, keks, "user")).ring.keyIds).toEqual([newKeyId]);
  });

  test("the table itself refuses a second active key of a purpose", async () => {
    const { em } = await setup();
    await loadSubgraphKeys(em, keksOf(kek()), "user");

    const second = em.execute(
      `insert into data_keys (id, purpose, state, kek_id, wrapped_key) values ('dkX', 'data', 'active', 'k', '\\x00')`,
    );

    await expect(second).rejects.toThrow(/data_keys_one_active_per_purpose/);
  });

  test("a wrong DATA_KEK stops start-up naming the variable; the old one in DATA_KEK_PREVIOUS lets keys be re-wrapped", async () => {
    const { em } = await setup();
    const [oldKek, newKek] = [kek(), kek()];
    const first = await loadSubgraphKeys(em, keksOf(oldKek), "user");

    const wrong = loadSubgraphKeys(em, keksOf(newKek), "user");
    await expect(wrong).rejects.toBeInstanceOf(ConfigError);
    await expect(loadSubgraphKeys(em, keksOf(newKek), "user")).rejects.toThrow(
      /DATA_KEK: .*DATA_KEK_PREVIOUS/,
    );

    const rotating = keksOf(newKek, oldKek);
    expect(await rewrapDataKeys(em, rotating, "user")).toBe(2);
    const after = await loadSubgraphKeys(em, keksOf(newKek), "user");
    expect(after.ring.activeKeyId).toBe(first.ring.activeKeyId);
    expect(after.indexKey).toEqual(first.indexKey);
  });

  test("a data key row copied into another subgraph's database does not unwrap there", async () => {
    const { em } = await setup();
    const keks = keksOf(kek());
    await loadSubgraphKeys(em, keks, "user");

    await expect(loadSubgraphKeys(em, keks, "notification")).rejects.toThrow(/DATA_KEK: .*does not unwrap/);
  });
});
