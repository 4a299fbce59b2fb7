import type { SafeHtml } from "./safe-html";

/** A link that carries a one-time token (reset, verification): never kept in the inbox. */
export interface TokenLinkVars {
  /** PUBLIC_APP_URL: the base of the link. */
  appUrl: string;
  token: string;
  /** ISO-8601 instant the token stops working. */
  expiresAt: string;
  displayName?: string | null;
}

/** The variables each kind of message is rendered with. */
export interface TemplateVars {
  welcome: { displayName: string };
  "verify-email": TokenLinkVars;
  "password-reset": TokenLinkVars;
  "new-device": { userAgent: string | null; ipAddress: string | null; displayName?: string | null };
  "password-changed": { reason: "changed" | "reset"; displayName?: string | null };
  /** Written by an ADMIN: rendered as written in text, escaped in HTML. */
  "admin-message": { title: string; body: string };
  /** An ADMIN's marketing message, only to users who opted in: says why it came and how to stop it. */
  marketing: { title: string; body: string; preferencesUrl: string };
}

export type TemplateKind = keyof TemplateVars;

export const TEMPLATE_KINDS: readonly TemplateKind[] = [
  "welcome",
  "verify-email",
  "password-reset",
  "new-device",
  "password-changed",
  "admin-message",
  "marketing",
];

/** What a template writes; `body` is the short inbox text (never a link, which may carry a secret). */
export interface TemplateContent {
  subject: string;
  body: string;
  text: string;
  html: SafeHtml;
}

/** The shared pieces a layout gets besides the locale's strings and the variables. */
export interface TemplateTools {
  /** `path` under the application's base URL with the token as the `token` query parameter. */
  tokenLink(vars: TokenLinkVars, path: string): URL;
}

/** How one kind of message is laid out, in any locale: `strings` are the locale's words. */
export type Layout<K extends TemplateKind> = (
  strings: Strings,
  vars: TemplateVars[K],
  tools: TemplateTools,
) => TemplateContent;

/** Every kind's layout. */
export type Layouts = { [K in TemplateKind]: Layout<K> };

/**
 * Everything a locale writes: words only. The layouts (layouts.ts) place them, with the variables,
 * in the subject, inbox text, e-mail text and HTML the same way for every locale.
 */
export interface Strings {
  welcome: { subject: string; greeting(displayName: string): string };
  /** Shared by the messages that carry a one-time link. */
  tokenLink: { expiry(expiresAt: string): string; ignore: string };
  "verify-email": { subject: string; intro: string };
  "password-reset": { subject: string; intro: string };
  "new-device": {
    subject: string;
    /** `device` is the user agent (or `unknownDevice`), then the IP address when known. */
    signIn(device: string): string;
    unknownDevice: string;
    advice: string;
  };
  "password-changed": { subject: string; changed: string; reset: string; advice: string };
  marketing: { why: string; turnOff: string; turnOffAt(preferencesUrl: string): string };
}
