import { escapeHtml } from "./html";
import type { MailMessage } from "./mailer";

export interface AccountMessage {
  kind: string;
  /** What the inbox and the delivery record keep: never the link, which carries a secret. */
  title: string;
  body: string;
  mail: MailMessage;
}

function withLink(
  kind: string,
  to: string,
  title: string,
  intro: string,
  link: URL,
  expiresAt: string,
): AccountMessage {
  const expiry = `The link works once and expires at ${new Date(expiresAt).toUTCString()}.`;
  const ignore = "If you did not ask for this, ignore this e-mail.";
  return {
    kind,
    title,
    body: `${intro} ${expiry}`,
    mail: {
      to,
      subject: title,
      text: `${intro}\n\n${link.toString()}\n\n${expiry}\n${ignore}`,
      html: `<p>${escapeHtml(intro)}</p><p><a href="${escapeHtml(link.toString())}">${escapeHtml(title)}</a></p><p>${escapeHtml(expiry)}<br>${escapeHtml(ignore)}</p>`,
    },
  };
}

/** Full per-locale templates arrive with the notification issue; these are the English defaults. */
export function passwordResetMessage(appUrl: string, to: string, token: string, expiresAt: string) {
  const link = new URL("/reset-password", appUrl);
  link.searchParams.set("token", token);
  return withLink(
    "password-reset",
    to,
    "Reset your ORION password",
    "Someone asked to reset the password of your ORION account.",
    link,
    expiresAt,
  );
}

export function emailVerificationMessage(appUrl: string, to: string, token: string, expiresAt: string) {
  const link = new URL("/verify-email", appUrl);
  link.searchParams.set("token", token);
  return withLink(
    "verify-email",
    to,
    "Confirm your e-mail address",
    "Confirm that this address belongs to your ORION account.",
    link,
    expiresAt,
  );
}

export function passwordChangedMessage(to: string, reason: "changed" | "reset"): AccountMessage {
  const title = "Your ORION password was changed";
  const body =
    reason === "reset"
      ? "Your password was reset and every session was signed out."
      : "Your password was changed and your other sessions were signed out.";
  const advice = "If this was not you, reset your password now and contact support.";
  return {
    kind: "security-alert",
    title,
    body,
    mail: {
      to,
      subject: title,
      text: `${body}\n\n${advice}`,
      html: `<p>${escapeHtml(body)}</p><p>${escapeHtml(advice)}</p>`,
    },
  };
}

export function newDeviceMessage(
  to: string,
  userAgent: string | null,
  ipAddress: string | null,
): AccountMessage {
  const title = "New sign-in to your ORION account";
  const body = `Your account was signed in to from a device not seen before (${userAgent ?? "unknown device"}${ipAddress ? `, ${ipAddress}` : ""}).`;
  const advice =
    "If this was you, there is nothing to do. If not, change your password and sign out everywhere.";
  return {
    kind: "security-alert",
    title,
    body,
    mail: {
      to,
      subject: title,
      text: `${body}\n\n${advice}`,
      html: `<p>${escapeHtml(body)}</p><p>${escapeHtml(advice)}</p>`,
    },
  };
}
