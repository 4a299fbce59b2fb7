import { escapeHtml } from "./html";
import type { MailMessage } from "./mailer";

/** The kind of a message an ADMIN sends with `sendNotification`. */
export const ADMIN_MESSAGE_KIND = "admin-message";

/** An ADMIN's message as e-mail: plain text as written; in HTML escaped, paragraphs and line breaks kept. */
export function adminMessageMail(to: string, title: string, body: string): MailMessage {
  const html = body
    .split(/\r?\n\s*\r?\n/)
    .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\r?\n/g, "<br>")}</p>`)
    .join("");
  return { to, subject: title, text: body, html };
}
