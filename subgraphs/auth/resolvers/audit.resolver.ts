import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver, registerEnumType } from "type-graphql";
import { z } from "zod";
import { isUuid } from "../../../platform/database/loaders";
import { JSONObjectScalar } from "../../../platform/graphql/scalars";
import {
  decodePosition,
  FirstArg,
  pageSize,
  PageInfo,
  toConnection,
} from "../../../platform/graphql/page-info.type";
import { validateInput } from "../../../platform/graphql/validation";
import { AuditEvent as AuditRow, AuditEventType } from "../entities/audit-event.entity";
import type { AuthContext } from "./context";

registerEnumType(AuditEventType, { name: "AuditEventType" });

@ObjectType({ description: "A security-relevant fact: what, to whom, by whom, from where, in which request" })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => AuditEventType)
  type!: AuditEventType;

  @Field(() => ID, { nullable: true, description: "The account concerned" })
  userId!: string | null;

  @Field(() => ID, { nullable: true, description: "Who acted (null: anonymous)" })
  actorId!: string | null;

  @Field(() => String, { nullable: true })
  ipAddress!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  correlationId!: string | null;

  @Field(() => JSONObjectScalar)
  details!: Record<string, unknown>;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class AuditEventEdge {
  @Field()
  cursor!: string;

  @Field(() => AuditEvent)
  node!: AuditEvent;
}

@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge])
  edges!: AuditEventEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

const userIdSchema = z.string().refine(isUuid, { error: "must be a user id" }).nullish();

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: "ADMIN: the audit trail, newest first" })
  async auditEvents(
    @Ctx() ctx: AuthContext,
    @FirstArg() first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("userId", () => ID, { nullable: true }) userId: string | null,
    @Arg("type", () => AuditEventType, { nullable: true }) type: AuditEventType | null,
  ): Promise<AuditEventConnection> {
    const size = pageSize(first);
    validateInput(userIdSchema, userId, "userId");
    const position = decodePosition(after);
    const where = {
      ...(userId ? { userId } : {}),
      ...(type ? { type } : {}),
    };
    const [rows, totalCount] = await Promise.all([
      ctx.em.find(
        AuditRow,
        position
          ? {
              ...where,
              $or: [
                { createdAt: { $lt: new Date(position.createdAt) } },
                { createdAt: new Date(position.createdAt), id: { $lt: position.id } },
              ],
            }
          : where,
        { orderBy: { createdAt: "desc", id: "desc" }, limit: size + 1 },
      ),
      ctx.em.count(AuditRow, where),
    ]);
    return toConnection(
      { rows: rows.slice(0, size), hasNextPage: rows.length > size, totalCount },
      (row) => row,
      (row) => row,
    );
  }
}
