import { RequestPasswordResetDocument, UpdateProfileDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { register, tokenFromMail, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

// Localised e-mail through the router: the notification subgraph renders each message in the
// locale of its own recipient copy, kept current by ProfileUpdated.

/** RFC 2047 encoded words (`=?UTF-8?Q?...?=` / `=?UTF-8?B?...?=`) in a header, decoded. */
function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0]!;
  const match = new RegExp(`^${name}:(.*(?:\\r?\\n[ \\t].*)*)`, "im").exec(head);
  if (!match) throw new Error(`no ${name} header`);
  return match[1]!
    .replace(/\r?\n[ \t]+/g, " ")
    .replace(/(\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=/gi, (_, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(
            text
              .replace(/_/g, " ")
              .replace(/=([0-9A-F]{2})/gi, (__, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            "latin1",
          ).toString("utf8"),
    )
    .trim();
}

/** The message with quoted-printable undone (soft breaks and `=XX` bytes, read as UTF-8). */
const unquoted = (raw: string) =>
  Buffer.from(
    raw
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    "latin1",
  ).toString("utf8");

describeWithServices(["postgres", "redis", "rabbitmq"], "notification templates through the router", () => {
  let env: TestSupergraph;

  beforeAll(async () => {
    env = await startTestSupergraph("services");
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  const recipientLocale = async (userId: string) => {
    const rows = await subgraphSql<{ locale: string }>(
      env,
      "notification",
      "select locale from recipients where user_id = ?",
      [userId],
    );
    return rows[0]?.locale;
  };

  it("mails a password reset in French to a user whose profile locale is fr-FR", async () => {
    const user = await register(env, uniqueEmail("templates-fr"));
    // The registration's recipient copy first, so the profile change has a row to update.
    await eventually(async () => expect(await recipientLocale(user.id)).toBe("en"));
    const updated = await env.request(
      UpdateProfileDocument,
      { input: { locale: "fr-FR" } },
      { token: user.token },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateProfile.profile?.locale).toBe("fr-FR");
    await eventually(async () => expect(await recipientLocale(user.id)).toBe("fr-FR"));

    const requested = await env.request(RequestPasswordResetDocument, { email: user.email });
    expect(requested.errors).toBeUndefined();
    const token = await tokenFromMail(env.mailbox, user.email, "/reset-password");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const mail = env.mailbox
      .messages()
      .find((m) => m.to.includes(user.email) && m.raw.replace(/=\r?\n/g, "").includes(`token=3D${token}`))!;
    expect(header(mail.raw, "Subject")).toBe("Réinitialisez votre mot de passe ORION");
    const body = unquoted(mail.raw);
    expect(body).toContain(
      "Une demande de réinitialisation du mot de passe de votre compte ORION a été faite.",
    );
    expect(body).toContain('<html lang="fr">');
    expect(body).not.toContain("Reset your ORION password");
  });
});
