/** The locales whose templates ship; `en` is the last resort of every fallback chain. */
export const SHIPPED_LOCALES = ["en", "fr"] as const;
export type ShippedLocale = (typeof SHIPPED_LOCALES)[number];
export const DEFAULT_LOCALE: ShippedLocale = "en";

function canonical(locale: string): string | null {
  try {
    return Intl.getCanonicalLocales(locale.trim().replace(/_/g, "-"))[0] ?? null;
  } catch {
    return null; // not a BCP 47 tag: only the default applies
  }
}

/**
 * The locales tried for `locale`, most specific first, ending with `en`: `fr-CA` gives
 * `fr-CA`, `fr`, `en`; `zh-Hant-TW` gives `zh-Hant-TW`, `zh-Hant`, `zh`, `en`.
 */
export function localeChain(locale: string | null | undefined): string[] {
  const chain: string[] = [];
  const tag = locale ? canonical(locale) : null;
  if (tag) {
    const parts = tag.split("-");
    for (let n = parts.length; n > 0; n--) chain.push(parts.slice(0, n).join("-"));
  }
  if (!chain.includes(DEFAULT_LOCALE)) chain.push(DEFAULT_LOCALE);
  return chain;
}

const isShipped = (locale: string): locale is ShippedLocale =>
  (SHIPPED_LOCALES as readonly string[]).includes(locale);

/** The first shipped locale of `locale`'s fallback chain. */
export function resolveLocale(locale: string | null | undefined): ShippedLocale {
  return localeChain(locale).find(isShipped) ?? DEFAULT_LOCALE;
}
