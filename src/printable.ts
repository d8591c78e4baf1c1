/**
 * Putting values from untrusted files and users into error messages (internal: not exported from the package).
 * A message must stay one short line whatever the file holds: no raw newlines or terminal control sequences, no
 * megabyte strings, and no JSON.stringify of a container, which recurses (a deeply nested value overflows the stack)
 * and can be as large as the file.
 */

/**
 * Control characters, line and paragraph separators, bidirectional overrides and lone surrogates become `\uXXXX`
 * escapes, so that a terminal shows the text as written on one line; anything past `max` UTF-16 units is cut, with
 * a note of the full length.
 */
export function printable(text: string, max = 200): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const safe = cut.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return text.length > max ? `${safe}… (${text.length} characters)` : safe;
}

const UNPRINTABLE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string quoted as JSON, shortened to `max` units first. */
export function quoted(s: string, max = 80): string {
  return s.length > max ? `${printable(JSON.stringify(s.slice(0, max)))}… (${s.length} characters)` : printable(JSON.stringify(s), Infinity);
}

/** A JSON value described in a few words; containers by their size only. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (typeof v === "string") return quoted(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length} element${v.length === 1 ? "" : "s"}`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
