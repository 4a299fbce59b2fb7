import type { EntityManager } from "@mikro-orm/postgresql";

import type { SubgraphContext } from "../../../platform/graphql/context";
import { AuditEvent, AuditEventType } from "../entities/audit-event.entity";

export { AuditEventType };

/**
 * Adds an audit record to the unit of work: written by the same flush (the same transaction) as
 * the change it describes. Actor, IP, user agent and correlation id come from the request.
 */
export function audit(
  em: EntityManager,
  ctx: Pick<SubgraphContext, "identity" | "request" | "correlationId">,
  type: AuditEventType,
  fields: { userId: string | null; actorId?: string | null; details?: Record<string, unknown> },
): AuditEvent {
  const event = Object.assign(new AuditEvent(), {
    type,
    userId: fields.userId,
    actorId:
      fields.actorId !== undefined
        ? fields.actorId
        : ctx.identity.kind === "user"
          ? ctx.identity.userId
          : null,
    ipAddress: ctx.request.ip,
    userAgent: ctx.request.userAgent,
    correlationId: ctx.correlationId,
    details: fields.details ?? {},
  });
  em.persist(event);
  return event;
}
