import type { MailMessage } from "./mailer";
import { render } from "./templates";

/** The kind of a message an ADMIN sends with `sendNotification`. */
export const ADMIN_MESSAGE_KIND = "admin-message";

/**
 * An ADMIN's message as e-mail in the recipient's locale: plain text as written; in HTML escaped,
 * paragraphs and line breaks kept.
 */
export function adminMessageMail(
  to: string,
  title: string,
  body: string,
  locale?: string | null,
): MailMessage {
  const rendered = render("admin-message", locale, { title, body });
  return { to, subject: rendered.subject, text: rendered.text, html: rendered.html };
}
