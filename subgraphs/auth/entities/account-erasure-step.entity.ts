import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/** One subgraph's confirmation that it erased the user's data (from its ErasureCompleted event). */
@Entity({ tableName: "account_erasure_steps" })
export class AccountErasureStep {
  @PrimaryKey({ type: "uuid" })
  userId!: string;

  @PrimaryKey({ type: "text" })
  subgraph!: string;

  @Property({ type: "integer" })
  erasedRecords!: number;

  @Property({ type: "timestamptz" })
  completedAt: Date = new Date();
}
