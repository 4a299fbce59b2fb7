import { markup, paragraphs } from "./safe-html";
import type { Catalogue } from "./types";

const expiry = (expiresAt: string) =>
  `The link works once and expires at ${new Date(expiresAt).toUTCString()}.`;
const ignore = "If you did not ask for this, ignore this e-mail.";

/** English: the default every other locale falls back to. */
export const en: Catalogue = {
  welcome: ({ displayName }) => {
    const body = `Hi ${displayName}, your account is ready.`;
    return {
      subject: "Welcome to ORION",
      body,
      text: body,
      html: markup`<p>Hi ${displayName}, your account is ready.</p>`,
    };
  },

  "verify-email": (vars, { tokenLink }) => {
    const subject = "Confirm your e-mail address";
    const intro = "Confirm that this address belongs to your ORION account.";
    const link = tokenLink(vars, "verify-email").toString();
    return {
      subject,
      body: `${intro} ${expiry(vars.expiresAt)}`,
      text: `${intro}\n\n${link}\n\n${expiry(vars.expiresAt)}\n${ignore}`,
      html: markup`<p>${intro}</p><p><a href="${link}">${subject}</a></p><p>${expiry(vars.expiresAt)}<br>${ignore}</p>`,
    };
  },

  "password-reset": (vars, { tokenLink }) => {
    const subject = "Reset your ORION password";
    const intro = "Someone asked to reset the password of your ORION account.";
    const link = tokenLink(vars, "reset-password").toString();
    return {
      subject,
      body: `${intro} ${expiry(vars.expiresAt)}`,
      text: `${intro}\n\n${link}\n\n${expiry(vars.expiresAt)}\n${ignore}`,
      html: markup`<p>${intro}</p><p><a href="${link}">${subject}</a></p><p>${expiry(vars.expiresAt)}<br>${ignore}</p>`,
    };
  },

  "new-device": ({ userAgent, ipAddress }) => {
    const body = `Your account was signed in to from a device not seen before (${userAgent ?? "unknown device"}${ipAddress ? `, ${ipAddress}` : ""}).`;
    const advice =
      "If this was you, there is nothing to do. If not, change your password and sign out everywhere.";
    return {
      subject: "New sign-in to your ORION account",
      body,
      text: `${body}\n\n${advice}`,
      html: markup`<p>${body}</p><p>${advice}</p>`,
    };
  },

  "password-changed": ({ reason }) => {
    const body =
      reason === "reset"
        ? "Your password was reset and every session was signed out."
        : "Your password was changed and your other sessions were signed out.";
    const advice = "If this was not you, reset your password now and contact support.";
    return {
      subject: "Your ORION password was changed",
      body,
      text: `${body}\n\n${advice}`,
      html: markup`<p>${body}</p><p>${advice}</p>`,
    };
  },

  "admin-message": ({ title, body }) => ({
    subject: title,
    body,
    text: body,
    html: paragraphs(body),
  }),
  marketing: ({ title, body, preferencesUrl }) => ({
    subject: title,
    body,
    text: `${body}\n\n--\nYou receive this because you opted in to news from ORION.\nTurn it off in your preferences: ${preferencesUrl}`,
    html: markup`${paragraphs(body)}<hr><p>You receive this because you opted in to news from ORION.<br><a href="${preferencesUrl}">Turn it off in your preferences</a></p>`,
  }),
};
