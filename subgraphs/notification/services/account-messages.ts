import type { MailMessage } from "./mailer";
import { render, type RenderedMessage, type TemplateKind, type TemplateVars } from "./templates";

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

export function passwordResetMessage(
  appUrl: string,
  addressee: Addressee,
  token: string,
  expiresAt: string,
): AccountMessage {
  const { displayName } = addressee;
  return message("password-reset", "password-reset", addressee, { appUrl, token, expiresAt, displayName });
}

export function emailVerificationMessage(
  appUrl: string,
  addressee: Addressee,
  token: string,
  expiresAt: string,
): AccountMessage {
  const { displayName } = addressee;
  return message("verify-email", "verify-email", addressee, { appUrl, token, expiresAt, displayName });
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
