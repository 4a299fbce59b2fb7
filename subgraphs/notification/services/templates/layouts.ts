import { markup, paragraphs, SafeHtml } from "./safe-html";
import type { Layout, Layouts, Strings, TemplateContent, TokenLinkVars } from "./types";

/** Verification and reset: the same message around a one-time link, with its own subject and intro. */
function tokenLinkMessage(
  { expiry, ignore }: Strings["tokenLink"],
  { subject, intro }: Strings["verify-email" | "password-reset"],
  link: string,
  vars: TokenLinkVars,
): TemplateContent {
  return {
    subject,
    body: `${intro} ${expiry(vars.expiresAt)}`,
    text: `${intro}\n\n${link}\n\n${expiry(vars.expiresAt)}\n${ignore}`,
    html: markup`<p>${intro}</p><p><a href="${link}">${subject}</a></p><p>${expiry(vars.expiresAt)}<br>${ignore}</p>`,
  };
}

const welcome: Layout<"welcome"> = ({ welcome: s }, { displayName }) => {
  const body = s.greeting(displayName);
  return { subject: s.subject, body, text: body, html: markup`<p>${body}</p>` };
};

const verifyEmail: Layout<"verify-email"> = (strings, vars, { tokenLink }) =>
  tokenLinkMessage(
    strings.tokenLink,
    strings["verify-email"],
    tokenLink(vars, "verify-email").toString(),
    vars,
  );

const passwordReset: Layout<"password-reset"> = (strings, vars, { tokenLink }) =>
  tokenLinkMessage(
    strings.tokenLink,
    strings["password-reset"],
    tokenLink(vars, "reset-password").toString(),
    vars,
  );

const newDevice: Layout<"new-device"> = ({ "new-device": s }, { userAgent, ipAddress }) => {
  const body = s.signIn(`${userAgent ?? s.unknownDevice}${ipAddress ? `, ${ipAddress}` : ""}`);
  return {
    subject: s.subject,
    body,
    text: `${body}\n\n${s.advice}`,
    html: markup`<p>${body}</p><p>${s.advice}</p>`,
  };
};

const passwordChanged: Layout<"password-changed"> = ({ "password-changed": s }, { reason }) => {
  const body = reason === "reset" ? s.reset : s.changed;
  return {
    subject: s.subject,
    body,
    text: `${body}\n\n${s.advice}`,
    html: markup`<p>${body}</p><p>${s.advice}</p>`,
  };
};

/** An ADMIN's words only: no locale text to add. */
const adminMessage: Layout<"admin-message"> = (_strings, { title, body }) => ({
  subject: title,
  body,
  text: body,
  html: paragraphs(body),
});

const marketing: Layout<"marketing"> = ({ marketing: s }, { title, body, preferencesUrl }) => ({
  subject: title,
  body,
  text: `${body}\n\n--\n${s.why}\n${s.turnOffAt(preferencesUrl)}`,
  // `why` is embedded as written (it is ours, not a variable): the French sentence's apostrophe has
  // always gone out unescaped, and escaping it now would change what is sent.
  html: markup`${paragraphs(body)}<hr><p>${SafeHtml.trusted(s.why)}<br><a href="${preferencesUrl}">${s.turnOff}</a></p>`,
});

/** One layout per kind of message, shared by every locale. */
export const LAYOUTS: Layouts = {
  welcome,
  "verify-email": verifyEmail,
  "password-reset": passwordReset,
  "new-device": newDevice,
  "password-changed": passwordChanged,
  "admin-message": adminMessage,
  marketing,
};
