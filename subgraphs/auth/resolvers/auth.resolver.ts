import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { conflict, unauthenticated } from "../../../platform/errors";
import { validateInput } from "../../../platform/graphql/validation";
import { UserAccount } from "../entities/user-account.entity";
import { UserRegistered } from "../events/auth.events";
import { hashPassword, verifyPassword } from "../services/passwords";
import { ACCESS_TOKEN_TTL_SECONDS } from "../services/token-issuer";
import { AuthPayload } from "./auth-payload.type";
import type { AuthContext } from "./context";
import { LoginInput, RegisterInput, loginSchema, registerSchema } from "./credentials.input";

const BAD_CREDENTIALS = "Invalid e-mail or password";

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload)
  async register(@Arg("input") input: RegisterInput, @Ctx() ctx: AuthContext): Promise<AuthPayload> {
    const { email, password, displayName } = validateInput(registerSchema, input);
    const account = new UserAccount();
    account.email = email;
    account.passwordHash = await hashPassword(password);
    try {
      await ctx.em.persistAndFlush(account);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException)
        throw conflict("This e-mail address is already registered");
      throw error;
    }
    // Published after the commit; the events issue moves this into a transactional outbox.
    await ctx.publish(UserRegistered, { userId: account.id, email, displayName, locale: "en" });
    return startSession(account, ctx);
  }

  @Mutation(() => AuthPayload)
  async login(@Arg("input") input: LoginInput, @Ctx() ctx: AuthContext): Promise<AuthPayload> {
    const { email, password } = validateInput(loginSchema, input);
    const account = await ctx.em.findOne(UserAccount, { email });
    // An unknown address is checked against a dummy hash: both failures take as long and read the same.
    if (!(await verifyPassword(password, account?.passwordHash ?? null)) || !account)
      throw unauthenticated(BAD_CREDENTIALS);
    return startSession(account, ctx);
  }
}

async function startSession(account: UserAccount, ctx: AuthContext): Promise<AuthPayload> {
  const { session, refreshToken } = await ctx.deps.sessions.create(account.id, {
    userAgent: ctx.request.userAgent,
    ipAddress: ctx.request.ip,
  });
  const accessToken = await ctx.deps.tokens.issueAccessToken({
    userId: account.id,
    roles: account.roles,
    sessionId: session.id,
  });
  // The rest of this response is read as the user who just signed in (AuthPayload.user.email is theirs to see).
  ctx.identity = {
    kind: "user",
    userId: account.id,
    roles: account.roles,
    sessionId: session.id,
    scopes: null,
  };
  return { accessToken, refreshToken, expiresIn: ACCESS_TOKEN_TTL_SECONDS, user: account };
}
