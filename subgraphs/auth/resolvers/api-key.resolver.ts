import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";

import { isUuid } from "../../../platform/database/loaders";
import { forbidden, notFound } from "../../../platform/errors";
import { requireSession } from "../../../platform/graphql/context";
import { validateInput } from "../../../platform/graphql/validation";
import { Role } from "../../../platform/identity/roles";
import { ApiKeyRecord } from "../entities/api-key-record.entity";
import { UserAccount } from "../entities/user-account.entity";
import { newApiKeySecret } from "../services/api-keys";
import { audit, AuditEventType } from "../services/audit-log";
import { ApiKey, CreatedApiKey } from "./api-key.type";
import type { AuthContext } from "./context";
import { CreateApiKeyInput, createApiKeySchema } from "./credentials.input";

@Resolver()
export class ApiKeyResolver {
  @Query(() => [ApiKey], { description: "The caller's live API keys, newest first" })
  async myApiKeys(@Ctx() ctx: AuthContext): Promise<ApiKey[]> {
    const caller = requireSession(ctx);
    const records = await ctx.em.find(
      ApiKeyRecord,
      { userId: caller.userId, revokedAt: null },
      { orderBy: { createdAt: "desc", id: "desc" } },
    );
    return Promise.all(
      records.map(async (record) => toApiKey(record, await ctx.deps.apiKeys.lastUsed(record))),
    );
  }

  @Mutation(() => CreatedApiKey, { description: "The secret is returned once and stored only hashed" })
  async createApiKey(
    @Arg("input") input: CreateApiKeyInput,
    @Ctx() ctx: AuthContext,
  ): Promise<CreatedApiKey> {
    const caller = requireSession(ctx);
    const { name, scopes, expiresAt } = validateInput(createApiKeySchema, input);
    // Roles as stored now, not as the access token remembers them (it may be up to 15 minutes old).
    const { roles } = await ctx.em.findOneOrFail(UserAccount, { id: caller.userId });
    if (scopes.includes("admin") && !roles.includes(Role.ADMIN))
      throw forbidden("Only an ADMIN may create a key with the admin scope");
    const { secret, prefix, secretHash } = newApiKeySecret();
    const record = Object.assign(new ApiKeyRecord(), {
      userId: caller.userId,
      name,
      prefix,
      secretHash,
      scopes,
      expiresAt: expiresAt ?? null,
    });
    ctx.em.persist(record);
    audit(ctx.em, ctx, AuditEventType.API_KEY_CREATED, {
      userId: caller.userId,
      details: { apiKeyId: record.id, name, scopes },
    });
    // The lookup copy first: should the store be out, no key is recorded that could never be used.
    await ctx.deps.apiKeys.publish(record, roles);
    try {
      await ctx.em.flush();
    } catch (error) {
      await ctx.deps.apiKeys
        .withdraw(record)
        .catch((withdrawError: unknown) =>
          ctx.logger.warn(
            { err: withdrawError, apiKeyId: record.id },
            "could not withdraw an unrecorded key's copy",
          ),
        );
      throw error;
    }
    return { apiKey: toApiKey(record, null), secret };
  }

  @Mutation(() => Boolean, { description: "The key is refused from the next request on" })
  async revokeApiKey(@Arg("id", () => ID) id: string, @Ctx() ctx: AuthContext): Promise<boolean> {
    const caller = requireSession(ctx);
    // Someone else's key reads exactly like a key that does not exist.
    const record = isUuid(id)
      ? await ctx.em.findOne(ApiKeyRecord, { id, userId: caller.userId, revokedAt: null })
      : null;
    if (!record) throw notFound("No such API key");
    // Refused by routers first; the record follows.
    await ctx.deps.apiKeys.withdraw(record);
    record.revokedAt = new Date();
    audit(ctx.em, ctx, AuditEventType.API_KEY_REVOKED, { userId: caller.userId, details: { apiKeyId: id } });
    await ctx.em.flush();
    return true;
  }
}

function toApiKey(record: ApiKeyRecord, lastUsedAt: Date | null): ApiKey {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    scopes: record.scopes,
    createdAt: record.createdAt,
    lastUsedAt,
    expiresAt: record.expiresAt,
  };
}
