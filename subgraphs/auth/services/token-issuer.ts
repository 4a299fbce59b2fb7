import { createPublicKey } from "node:crypto";

import { calculateJwkThumbprint, type CryptoKey, exportJWK, importPKCS8, type JWK, SignJWT } from "jose";

import type { Role } from "../../../platform/identity/roles";
import { sessionScopes } from "../../../platform/identity/scopes";
import { parseSigningKeyBundle } from "../../../platform/identity/signing-keys";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** RFC 9068: the `typ` that tells an access token apart from any other JWT. */
export const ACCESS_TOKEN_TYPE = "at+jwt";

export interface TokenSettings {
  /** One RSA PKCS#8 PEM block, or several, oldest first (see platform/identity/signing-keys.ts). */
  signingKey: string;
  issuer: string;
  audience: string;
}

/**
 * Signs RS256 access tokens with the newest key of the bundle and publishes every key of it as a
 * JWKS, so tokens signed by an older key keep verifying until that key is rotated out.
 */
export class TokenIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    /** Newest first: the signing key's JWK leads. */
    private readonly publicJwks: JWK[],
    private readonly settings: TokenSettings,
  ) {}

  static async create(settings: TokenSettings): Promise<TokenIssuer> {
    const keys = parseSigningKeyBundle(settings.signingKey);
    const publicJwks = await Promise.all(
      keys.map(async ({ pem }) => {
        const jwk = await exportJWK(createPublicKey(pem));
        const kid = await calculateJwkThumbprint(jwk);
        return { ...jwk, kid, alg: "RS256", use: "sig" } satisfies JWK;
      }),
    );
    const privateKey = await importPKCS8(keys.at(-1)!.pem, "RS256");
    return new TokenIssuer(privateKey, publicJwks.reverse(), settings);
  }

  /** The `kid` of the key that signs. */
  get kid(): string {
    return this.publicJwks[0]!.kid!;
  }

  async issueAccessToken(subject: { userId: string; roles: Role[]; sessionId: string }): Promise<string> {
    return new SignJWT({
      roles: subject.roles,
      sid: subject.sessionId,
      scope: sessionScopes(subject.roles).join(" "),
    })
      .setProtectedHeader({ alg: "RS256", kid: this.kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(subject.userId)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_TOKEN_TTL_SECONDS}s`)
      .sign(this.privateKey);
  }

  /** Every key's public half (the signing key first): what /.well-known/jwks.json serves. */
  jwks(): { keys: JWK[] } {
    return { keys: this.publicJwks.map((jwk) => ({ ...jwk })) };
  }
}
