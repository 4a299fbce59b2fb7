import type { MailMessage } from "./mailer";
import { appLink, render, type RenderedMessage, type TemplateKind, type TemplateVars } from "./templates";

/** A message the delivery code records (inbox, delivery row) and sends by e-mail. */
export interface AccountMessage {
  kind: string;
  /** What the inbox and the delivery record keep: never the link, which carries a secret. */
  title: string;
  body: string;
  mail: MailMessage;
}

/** Who a message goes to: the address, and the locale and name this subgraph knows them by. */
export interface Addressee {
  to: string;
  locale?: string | null;
  displayName?: string | null;
}

/** A rendered template as the message the delivery code records and sends. */
export function asAccountMessage(kind: string, to: string, rendered: RenderedMessage): AccountMessage {
  return {
    kind,
    title: rendered.subject,
    body: rendered.body,
    mail: { to, subject: rendered.subject, text: rendered.text, html: rendered.html },
  };
}

function message<K extends TemplateKind>(
  kind: string,
  template: K,
  { to, locale }: Addressee,
  vars: TemplateVars[K],
): AccountMessage {
  return asAccountMessage(kind, to, render(template, locale, vars));
}

/** The welcome message, in the recipient's locale (falling back to English). */
export function welcomeMessage(recipient: {
  email: string;
  displayName: string;
  locale?: string | null;
}): AccountMessage {
  const { email, displayName, locale } = recipient;
  return message("welcome", "welcome", { to: email, locale }, { displayName });
}

/** A password reset or e-mail verification: a one-time link, under the template of the same name. */
export function tokenLinkMessage(
  kind: "password-reset" | "verify-email",
  appUrl: string,
  addressee: Addressee,
  token: string,
  expiresAt: string,
): AccountMessage {
  const { displayName } = addressee;
  return message(kind, kind, addressee, { appUrl, token, expiresAt, displayName });
}

export function passwordChangedMessage(addressee: Addressee, reason: "changed" | "reset"): AccountMessage {
  const { displayName } = addressee;
  return message("security-alert", "password-changed", addressee, { reason, displayName });
}

export function newDeviceMessage(
  addressee: Addressee,
  userAgent: string | null,
  ipAddress: string | null,
): AccountMessage {
  const { displayName } = addressee;
  return message("security-alert", "new-device", addressee, { userAgent, ipAddress, displayName });
}

/** The kind of a message an ADMIN sends with `sendNotification`. */
export const ADMIN_MESSAGE_KIND = "admin-message";
/** An ADMIN's `sendNotification` with `marketing: true`: only users who opted in receive it. */
export const MARKETING_KIND = "marketing";

/** Where a user turns marketing off (PUBLIC_APP_URL + settings/notifications). */
export const preferencesUrl = (appUrl: string) => appLink(appUrl, "settings/notifications").toString();

/**
 * An ADMIN's message as e-mail in the recipient's locale: plain text as written; in HTML escaped,
 * paragraphs and line breaks kept. Marketing adds why it came and where to stop it. (Only the mail:
 * the resolver records the inbox row from the ADMIN's own title and body.)
 */
export function adminMessageMail(
  to: string,
  title: string,
  body: string,
  locale?: string | null,
  marketing?: { appUrl: string },
): MailMessage {
  const rendered = marketing
    ? render("marketing", locale, { title, body, preferencesUrl: preferencesUrl(marketing.appUrl) })
    : render("admin-message", locale, { title, body });
  return asAccountMessage(rendered.kind, to, rendered).mail;
}
