import { escapeHtml } from "./html";
import type { MailMessage } from "./mailer";

/** The welcome message; full per-locale templates arrive with the notification issue. */
export function welcomeMessage(recipient: {
  email: string;
  displayName: string;
}): MailMessage & { title: string; body: string } {
  const title = "Welcome to ORION";
  const body = `Hi ${recipient.displayName}, your account is ready.`;
  return {
    to: recipient.email,
    subject: title,
    title,
    body,
    text: body,
    html: `<p>Hi ${escapeHtml(recipient.displayName)}, your account is ready.</p>`,
  };
}
