import { Arg, Ctx, Field, ID, Int, ObjectType, Query, registerEnumType, Resolver } from "type-graphql";
import { z } from "zod";

import { isUuid } from "../../../platform/database/loaders";
import {
  decodePosition,
  FirstArg,
  PageInfo,
  pageSize,
  toConnection,
} from "../../../platform/graphql/page-info.type";
import { JSONObjectScalar } from "../../../platform/graphql/scalars";
import { validateInput } from "../../../platform/graphql/validation";
import { AuditEvent as AuditRow, AuditEventType } from "../entities/audit-event.entity";
import type { AuthContext } from "./context";

registerEnumType(AuditEventType, { name: "AuditEventType", description: "What an audit event records" });

@ObjectType({ description: "A security-relevant fact: what, to whom, by whom, from where, in which request" })
export class AuditEvent {
  @Field(() => ID, { description: "Identifies the event" })
  id!: string;

  @Field(() => AuditEventType, { description: "What happened" })
  type!: AuditEventType;

  @Field(() => ID, { nullable: true, description: "The account concerned" })
  userId!: string | null;

  @Field(() => ID, { nullable: true, description: "Who acted (null: anonymous)" })
  actorId!: string | null;

  @Field(() => String, { nullable: true, description: "The client address of the request, if known" })
  ipAddress!: string | null;

  @Field(() => String, { nullable: true, description: "The User-Agent header of the request, if any" })
  userAgent!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The request id, to find the request in the logs and traces",
  })
  correlationId!: string | null;

  @Field(() => JSONObjectScalar, {
    description: "Facts particular to the event type, e.g. the roles before and after",
  })
  details!: Record<string, unknown>;

  @Field({ description: "When it happened" })
  createdAt!: Date;
}

@ObjectType({ description: "An audit event in a page of the audit trail" })
export class AuditEventEdge {
  @Field({ description: "Pass as `after` to continue after this event" })
  cursor!: string;

  @Field(() => AuditEvent, { description: "The event" })
  node!: AuditEvent;
}

@ObjectType({ description: "A page of the audit trail, newest first" })
export class AuditEventConnection {
  @Field(() => [AuditEventEdge], { description: "The events of this page" })
  edges!: AuditEventEdge[];

  @Field(() => PageInfo, { description: "Whether more pages follow and where this one ends" })
  pageInfo!: PageInfo;

  @Field(() => Int, { description: "How many events match, across all pages" })
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
