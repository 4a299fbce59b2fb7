import { escapeHtml } from "../html";

/** HTML that is already safe to embed: only `markup` tagged templates and `trusted` constants make one. */
export class SafeHtml {
  private constructor(readonly value: string) {}

  /** For markup written in this codebase only, never for anything a user or an event supplied. */
  static trusted(markup: string): SafeHtml {
    return new SafeHtml(markup);
  }

  toString(): string {
    return this.value;
  }
}

type Interpolation = SafeHtml | string | number | null | undefined | readonly Interpolation[];

function embed(value: Interpolation): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(embed).join("");
  return escapeHtml(String(value));
}

/**
 * A tagged template for e-mail HTML: every interpolated value is escaped unless it is itself
 * `SafeHtml`, so a display name, a user agent or an ADMIN's text can never add markup. (Not named
 * `html`: prettier would reformat such templates as HTML documents and change what is sent.)
 */
export function markup(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += embed(value) + strings[index + 1]!;
  });
  return SafeHtml.trusted(out);
}

/** Plain text as paragraphs: blank lines split paragraphs, single line breaks become `<br>`. */
export function paragraphs(text: string): SafeHtml {
  const paragraph = (lines: string) =>
    markup`<p>${lines.split(/\r?\n/).map((line, i) => (i ? [markup`<br>`, line] : line))}</p>`;
  return markup`${text.split(/\r?\n\s*\r?\n/).map(paragraph)}`;
}
