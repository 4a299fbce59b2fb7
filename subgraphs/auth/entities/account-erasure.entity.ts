import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/** A deleted account whose data the other subgraphs must erase; kept as proof that they did. */
@Entity({ tableName: "account_erasures" })
export class AccountErasure {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @Property({ type: "timestamptz" })
  requestedAt: Date = new Date();
}
