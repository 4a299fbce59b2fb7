import { randomUUID } from "node:crypto";

import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

import { Role } from "../../../platform/identity/roles";

/** The credential record behind the federated `User` entity. Only this subgraph stores e-mail and password hash. */
@Entity({ tableName: "users" })
export class UserAccount {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  /** Normalised (NFKC, lower-case): the unique login name. */
  @Property({ type: "text", unique: true })
  email!: string;

  @Property({ type: "text", hidden: true })
  passwordHash!: string;

  @Property({ type: "text[]" })
  roles: Role[] = [Role.USER];

  @Property({ type: "boolean" })
  emailVerified: boolean = false;

  @Property({ type: "timestamptz" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
