import type { AccountMessage } from "./account-messages";
import { render } from "./templates";

/** The welcome message, in the recipient's locale (falling back to English). */
export function welcomeMessage(recipient: {
  email: string;
  displayName: string;
  locale?: string | null;
}): AccountMessage {
  const rendered = render("welcome", recipient.locale, { displayName: recipient.displayName });
  return {
    kind: "welcome",
    title: rendered.subject,
    body: rendered.body,
    mail: { to: recipient.email, subject: rendered.subject, text: rendered.text, html: rendered.html },
  };
}
