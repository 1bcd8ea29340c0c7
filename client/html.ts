/**
 * Markup for the HTML report: a tagged template whose interpolations are escaped unless they are `Html`
 * already, so no value of a report (a gate comment, a machine name) can become markup.
 */

export class Html {
  constructor(readonly value: string) {}
}
export type Part = Html | string | number | undefined | null | false | Part[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(part: Part): string {
  if (part === undefined || part === null || part === false) return '';
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  return new Html(strings.reduce((out, s, i) => out + s + (i < parts.length ? render(parts[i]) : ''), ''));
}

export function raw(markup: string): Html {
  return new Html(markup);
}

/** An instant as the report prints it: `2026-11-10 22:00:00Z`. */
export function formatInstant(iso: string | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  return Number.isNaN(t)
    ? iso
    : new Date(t)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$|Z$/, 'Z');
}
