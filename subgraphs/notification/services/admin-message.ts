import type { MailMessage } from "./mailer";
import { appLink, render } from "./templates";

/** The kind of a message an ADMIN sends with `sendNotification`. */
export const ADMIN_MESSAGE_KIND = "admin-message";
/** An ADMIN's `sendNotification` with `marketing: true`: only users who opted in receive it. */
export const MARKETING_KIND = "marketing";

/** Where a user turns marketing off (PUBLIC_APP_URL + settings/notifications). */
export const preferencesUrl = (appUrl: string) => appLink(appUrl, "settings/notifications").toString();

/**
 * An ADMIN's message as e-mail in the recipient's locale: plain text as written; in HTML escaped,
 * paragraphs and line breaks kept. Marketing adds why it came and where to stop it.
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
  return { to, subject: rendered.subject, text: rendered.text, html: rendered.html };
}
