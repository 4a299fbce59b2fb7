import {
  adminMessageMail,
  newDeviceMessage,
  tokenLinkMessage,
  welcomeMessage,
} from "../../subgraphs/notification/services/messages";
import {
  fallbackChain,
  render,
  resolveLocale,
  SHIPPED_LOCALES,
  TEMPLATE_KINDS,
  type TemplateKind,
  type TemplateVars,
  tokenLink,
} from "../../subgraphs/notification/services/templates";

// Every kind of message in every shipped locale, the locale fallback, escaping and links.

const APP_URL = "https://app.orion.test";
const TOKEN = "tok_ABCdef-123_xyz&evil=1#frag";
const EXPIRES = "2026-11-26T13:00:00.000Z";

const HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "O'Brien & <b>Co</b>"];

function varsFor(name: string): { [K in TemplateKind]: TemplateVars[K] } {
  return {
    welcome: { displayName: name },
    "verify-email": { appUrl: APP_URL, token: TOKEN, expiresAt: EXPIRES, displayName: name },
    "password-reset": { appUrl: APP_URL, token: TOKEN, expiresAt: EXPIRES, displayName: name },
    "new-device": { userAgent: name, ipAddress: "203.0.113.7", displayName: name },
    "password-changed": { reason: "reset", displayName: name },
    "admin-message": { title: `Hello ${name}`, body: `Dear ${name},\nnews.\n\nBye` },
    marketing: {
      title: `Hello ${name}`,
      body: `Dear ${name},\nnews.`,
      preferencesUrl: `${APP_URL}/settings/notifications`,
    },
  };
}

const renderKind = <K extends TemplateKind>(kind: K, locale: string, name = "Ada") =>
  render(kind, locale, varsFor(name)[kind]);

describe("notification templates", () => {
  describe.each(SHIPPED_LOCALES.map((locale) => [locale]))("locale %s", (locale) => {
    it.each(TEMPLATE_KINDS.map((kind) => [kind]))("renders %s with subject, text and HTML", (kind) => {
      const rendered = renderKind(kind, locale);
      expect(rendered.locale).toBe(locale);
      expect(rendered.subject.trim()).not.toBe("");
      expect(rendered.text.trim()).not.toBe("");
      expect(rendered.body.trim()).not.toBe("");
      expect(rendered.html).toMatch(
        new RegExp(`^<!doctype html><html lang="${locale}">.*<body>.+</body></html>$`, "s"),
      );
    });
  });

  it("writes French and English differently, keeping the English subjects", () => {
    const subjects = (locale: string) =>
      Object.fromEntries(TEMPLATE_KINDS.map((kind) => [kind, renderKind(kind, locale).subject]));
    expect(subjects("en")).toEqual({
      welcome: "Welcome to ORION",
      "verify-email": "Confirm your e-mail address",
      "password-reset": "Reset your ORION password",
      "new-device": "New sign-in to your ORION account",
      "password-changed": "Your ORION password was changed",
      "admin-message": "Hello Ada",
      marketing: "Hello Ada",
    });
    const fr = subjects("fr");
    for (const kind of TEMPLATE_KINDS.filter((k) => k !== "admin-message" && k !== "marketing"))
      expect(fr[kind]).not.toBe(subjects("en")[kind]);
    expect(fr["password-reset"]).toBe("Réinitialisez votre mot de passe ORION");
  });

  describe("what the recipient reads, in each locale", () => {
    // The words a user sees, whole: each locale's sentences placed by the one layout of each kind.
    const WORDS = {
      en: {
        reset: "Someone asked to reset the password of your ORION account.",
        expiry: "The link works once and expires at Thu, 26 Nov 2026 13:00:00 GMT.",
        ignore: "If you did not ask for this, ignore this e-mail.",
        welcome: "Hi &lt;Ada&gt;, your account is ready.",
        newDevice: (device: string) =>
          `Your account was signed in to from a device not seen before (${device}).\n\n` +
          "If this was you, there is nothing to do. If not, change your password and sign out everywhere.",
        unknownDevice: "unknown device",
        changed: "Your password was changed and your other sessions were signed out.",
        wasReset: "Your password was reset and every session was signed out.",
        marketing:
          "You receive this because you opted in to news from ORION.\nTurn it off in your preferences: https://a.test/p",
      },
      fr: {
        reset: "Une demande de réinitialisation du mot de passe de votre compte ORION a été faite.",
        expiry: "Le lien ne fonctionne qu’une fois et expire le 26 novembre 2026 à 13:00 (UTC).",
        ignore: "Si vous n’êtes pas à l’origine de cette demande, ignorez cet e-mail.",
        welcome: "Bonjour &lt;Ada&gt;, votre compte est prêt.",
        newDevice: (device: string) =>
          `Une connexion à votre compte a eu lieu depuis un appareil inconnu (${device}).\n\n` +
          "Si c’était vous, il n’y a rien à faire. Sinon, changez votre mot de passe et déconnectez toutes les sessions.",
        unknownDevice: "appareil inconnu",
        changed: "Votre mot de passe a été changé et vos autres sessions ont été fermées.",
        wasReset: "Votre mot de passe a été réinitialisé et toutes les sessions ont été fermées.",
        marketing:
          "Vous recevez ce message car vous avez accepté les actualités d'ORION.\nDésactivez-les dans vos préférences : https://a.test/p",
      },
    } as const;

    it.each(SHIPPED_LOCALES.map((locale) => [locale]))("%s", (locale) => {
      const words = WORDS[locale];
      const link = "https://app.orion.test/reset-password?token=t%261";
      const reset = render("password-reset", locale, { appUrl: APP_URL, token: "t&1", expiresAt: EXPIRES });
      expect(reset.body).toBe(`${words.reset} ${words.expiry}`);
      expect(reset.text).toBe(`${words.reset}\n\n${link}\n\n${words.expiry}\n${words.ignore}`);
      expect(reset.html).toContain(
        `<body><p>${words.reset}</p><p><a href="${link}">${reset.subject}</a></p><p>${words.expiry}<br>${words.ignore}</p></body>`,
      );
      expect(render("welcome", locale, { displayName: "<Ada>" }).html).toContain(
        `<body><p>${words.welcome}</p></body>`,
      );
      expect(render("new-device", locale, { userAgent: null, ipAddress: null }).text).toBe(
        words.newDevice(words.unknownDevice),
      );
      expect(render("new-device", locale, { userAgent: "curl", ipAddress: "203.0.113.7" }).text).toBe(
        words.newDevice("curl, 203.0.113.7"),
      );
      expect(render("password-changed", locale, { reason: "changed" }).body).toBe(words.changed);
      expect(render("password-changed", locale, { reason: "reset" }).body).toBe(words.wasReset);
      const marketing = render("marketing", locale, {
        title: "T",
        body: "B",
        preferencesUrl: "https://a.test/p",
      });
      expect(marketing.text).toBe(`B\n\n--\n${words.marketing}`);
    });
  });

  describe("locale fallback", () => {
    it("walks from the most specific tag to English", () => {
      expect(fallbackChain("fr-CA")).toEqual(["fr-CA", "fr", "en"]);
      expect(fallbackChain("zh-Hant-TW")).toEqual(["zh-Hant-TW", "zh-Hant", "zh", "en"]);
      expect(fallbackChain("en-GB")).toEqual(["en-GB", "en"]);
      expect(fallbackChain(null)).toEqual(["en"]);
    });

    it.each([
      ["fr-CA", "fr"],
      ["fr-FR", "fr"],
      ["FR_ca", "fr"],
      ["fr", "fr"],
      ["en-US", "en"],
      ["de-DE", "en"],
      ["", "en"],
      ["not a locale!", "en"],
      [undefined, "en"],
    ])("%p renders in %p", (requested, expected) => {
      expect(resolveLocale(requested)).toBe(expected);
      expect(render("password-reset", requested, varsFor("Ada")["password-reset"]).locale).toBe(expected);
    });
  });

  describe("escaping", () => {
    it.each(SHIPPED_LOCALES.flatMap((locale) => HOSTILE.map((name) => [locale, name])))(
      "%s: %p is escaped in HTML and verbatim in text",
      (locale, name) => {
        for (const kind of ["welcome", "new-device", "admin-message", "marketing"] as const) {
          const rendered = renderKind(kind, locale, name);
          expect(rendered.text).toContain(name);
          expect(rendered.html).not.toContain(name);
          expect(rendered.html).not.toMatch(/<script|<img|<b>/i);
          expect(rendered.html).toContain(
            name
              .replace(/&/g, "&amp;")
              .replace(/</g, "&lt;")
              .replace(/>/g, "&gt;")
              .replace(/"/g, "&quot;")
              .replace(/'/g, "&#39;"),
          );
        }
      },
    );

    it("escapes an ADMIN's title in the HTML title and keeps paragraphs and line breaks", () => {
      const rendered = render("admin-message", "en", {
        title: "</title><script>x</script>",
        body: "a <b>\nb\n\nc",
      });
      expect(rendered.html).toContain("<title>&lt;/title&gt;&lt;script&gt;x&lt;/script&gt;</title>");
      expect(rendered.html).toContain("<p>a &lt;b&gt;<br>b</p><p>c</p>");
      expect(rendered.text).toBe("a <b>\nb\n\nc");
      expect(rendered.subject).toBe("</title><script>x</script>");
    });
  });

  describe("links", () => {
    it.each(
      SHIPPED_LOCALES.flatMap(
        (locale) =>
          [
            [locale, "password-reset", "/reset-password"],
            [locale, "verify-email", "/verify-email"],
          ] as const,
      ),
    )("%s %s carries the token as a URL parameter under PUBLIC_APP_URL", (locale, kind, path) => {
      const rendered = renderKind(kind, locale);
      const href = /<a href="([^"]+)"/.exec(rendered.html)![1]!.replace(/&amp;/g, "&");
      for (const link of [new URL(href), new URL(/https:\S+/.exec(rendered.text)![0])]) {
        expect(link.origin).toBe(APP_URL);
        expect(link.pathname).toBe(path);
        expect(link.searchParams.get("token")).toBe(TOKEN);
        expect([...link.searchParams.keys()]).toEqual(["token"]);
        expect(link.hash).toBe("");
      }
      // The inbox text never carries the link (it holds a secret).
      expect(rendered.body).not.toContain(encodeURIComponent(TOKEN));
      expect(rendered.body).not.toContain("http");
    });

    it("keeps a base path and drops the base's query and fragment", () => {
      const link = tokenLink({ appUrl: "https://host.test/app?x=1#y", token: "t/ok en" }, "/reset-password");
      expect(link.toString()).toBe("https://host.test/app/reset-password?token=t%2Fok+en");
      expect(tokenLink({ appUrl: "http://localhost:3000/", token: "abc" }, "verify-email").toString()).toBe(
        "http://localhost:3000/verify-email?token=abc",
      );
    });
  });

  describe("message modules", () => {
    it("keep the AccountMessage shape and render in the addressee's locale", () => {
      const reset = tokenLinkMessage(
        "password-reset",
        APP_URL,
        { to: "a@example.com", locale: "fr-CA" },
        TOKEN,
        EXPIRES,
      );
      expect(reset).toMatchObject({
        kind: "password-reset",
        title: "Réinitialisez votre mot de passe ORION",
        mail: { to: "a@example.com", subject: "Réinitialisez votre mot de passe ORION" },
      });
      const device = newDeviceMessage({ to: "a@example.com" }, "<b>curl</b>", null);
      expect(device.kind).toBe("security-alert");
      expect(device.title).toBe("New sign-in to your ORION account");
      expect(device.mail.html).toContain("&lt;b&gt;curl&lt;/b&gt;");
      const welcome = welcomeMessage({ email: "a@example.com", displayName: "<i>Ada</i>", locale: "fr" });
      expect(welcome).toMatchObject({ kind: "welcome", title: "Bienvenue sur ORION" });
      expect(welcome.body).toBe("Bonjour <i>Ada</i>, votre compte est prêt.");
      expect(adminMessageMail("a@example.com", "T", "B", "fr-CA")).toMatchObject({ subject: "T", text: "B" });
    });

    it("says in a marketing e-mail why it came and links to where it can be turned off", () => {
      for (const [locale, why] of [
        ["en", "opted in"],
        ["fr", "accepté"],
      ] as const) {
        const mail = adminMessageMail("a@example.com", "News", "Our <b>new</b> plan", locale, {
          appUrl: "https://app.orion.test/base?x=1",
        });
        const link = "https://app.orion.test/base/settings/notifications";
        expect(mail.subject).toBe("News");
        expect(mail.text).toMatch(new RegExp(`^Our <b>new</b> plan\n\n--\n.*${why}.*\n.* ${link}$`));
        expect(mail.html).toContain(`<a href="${link}">`);
        expect(mail.html).toContain("Our &lt;b&gt;new&lt;/b&gt; plan");
      }
      expect(adminMessageMail("a@example.com", "T", "B", "en").text).toBe("B");
    });
  });
});
