import { en } from "./en";
import { fr } from "./fr";
import { LAYOUTS } from "./layouts";
import { localeChain, resolveLocale, type ShippedLocale } from "./locales";
import { markup } from "./safe-html";
import type { Layouts, Strings, TemplateKind, TemplateTools, TemplateVars, TokenLinkVars } from "./types";

export { DEFAULT_LOCALE, localeChain, resolveLocale, SHIPPED_LOCALES, type ShippedLocale } from "./locales";
export { TEMPLATE_KINDS, type TemplateKind, type TemplateVars } from "./types";

const STRINGS: Record<ShippedLocale, Strings> = { en, fr };

/**
 * `path` under the application's base URL (a base path such as `https://host/app` is kept),
 * with the token as the `token` query parameter: built with URL APIs, so nothing in the token or
 * the base can change the link's shape.
 */
export function tokenLink({ appUrl, token }: Pick<TokenLinkVars, "appUrl" | "token">, path: string): URL {
  const link = appLink(appUrl, path);
  link.searchParams.set("token", token);
  return link;
}

/** `path` under the application's base URL, without the base's query or fragment. */
export function appLink(appUrl: string, path: string): URL {
  const base = new URL(appUrl);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  base.search = "";
  base.hash = "";
  return new URL(path.replace(/^\/+/, ""), base);
}

const TOOLS: TemplateTools = { tokenLink };

export interface RenderedMessage {
  kind: TemplateKind;
  /** The shipped locale actually used (the first of the requested locale's fallback chain). */
  locale: ShippedLocale;
  subject: string;
  /** The short inbox text: never a link. */
  body: string;
  text: string;
  /** A whole HTML document; every variable in it is escaped. */
  html: string;
}

/**
 * Renders one kind of message in `locale`, falling back along its chain (`fr-CA` → `fr` → `en`);
 * an unknown or malformed locale renders in English.
 */
export function render<K extends TemplateKind>(
  kind: K,
  locale: string | null | undefined,
  vars: TemplateVars[K],
): RenderedMessage {
  const resolved = resolveLocale(locale);
  const layout = LAYOUTS[kind] as Layouts[K];
  const content = layout(STRINGS[resolved], vars, TOOLS);
  const document = markup`<!doctype html><html lang="${resolved}"><head><meta charset="utf-8"><title>${content.subject}</title></head><body>${content.html}</body></html>`;
  return {
    kind,
    locale: resolved,
    subject: content.subject,
    body: content.body,
    text: content.text,
    html: document.toString(),
  };
}

/** Which locales a request for `locale` would try, for diagnostics and tests. */
export const fallbackChain = localeChain;
