import { createPublicKey } from "node:crypto";
import { SignJWT, calculateJwkThumbprint, exportJWK, importPKCS8, type CryptoKey, type JWK } from "jose";
import type { Role } from "../../../platform/identity/roles";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** RFC 9068: the `typ` that tells an access token apart from any other JWT. */
export const ACCESS_TOKEN_TYPE = "at+jwt";

export interface TokenSettings {
  signingKey: string;
  issuer: string;
  audience: string;
}

/** Signs RS256 access tokens and publishes the matching public key as a JWKS. */
export class TokenIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JWK,
    private readonly settings: TokenSettings,
  ) {}

  static async create(settings: TokenSettings): Promise<TokenIssuer> {
    const privateKey = await importPKCS8(settings.signingKey, "RS256");
    const publicJwk = await exportJWK(createPublicKey(settings.signingKey));
    const kid = await calculateJwkThumbprint(publicJwk);
    return new TokenIssuer(privateKey, { ...publicJwk, kid, alg: "RS256", use: "sig" }, settings);
  }

  get kid(): string {
    return this.publicJwk.kid!;
  }

  async issueAccessToken(subject: { userId: string; roles: Role[]; sessionId: string }): Promise<string> {
    return new SignJWT({ roles: subject.roles, sid: subject.sessionId, scope: "" })
      .setProtectedHeader({ alg: "RS256", kid: this.kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(subject.userId)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_TOKEN_TTL_SECONDS}s`)
      .sign(this.privateKey);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }
}
