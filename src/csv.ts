/**
 * Writing CSV/TSV cells (runtime-agnostic: the CLI's --out files and probe's CSV share it). RFC 4180 quoting, and
 * cells that a spreadsheet would run as formulas neutralised unless the caller asks for them raw.
 */

/**
 * A cell a spreadsheet would run as a formula, made text (OWASP's CSV-injection rule): one starting with `=`, `+`, `-`
 * or `@`, or with a tab or carriage return, gets a leading `'`. A plain number ("-0.25", "+3e-7") is left as it is:
 * a spreadsheet reads it as that number, and the score and logit columns are such numbers.
 */
export function neutralizeFormula(value: string): string {
  if (value === "" || !FORMULA_START.includes(value[0]) || PLAIN_NUMBER.test(value)) return value;
  return `'${value}`;
}

const FORMULA_START = ["=", "+", "-", "@", "\t", "\r"];
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface FormatOptions {
  /** Write every cell as it is, formulas included (--raw); default: neutralizeFormula. */
  raw?: boolean;
}

/**
 * One field, quoted only when it must be: a delimiter, quote, CR or LF inside (spaces are data, RFC 4180 §2.4).
 * Unless `raw`, a cell that would start a formula is neutralised first.
 */
export function formatField(value: string, delimiter: string, options: FormatOptions = {}): string {
  const v = options.raw === true ? value : neutralizeFormula(value);
  if (v.includes(delimiter) || v.includes('"') || v.includes("\n") || v.includes("\r")) {
    return `"${v.replaceAll('"', '""')}"`;
  }
  return v;
}

export function formatRecord(values: readonly string[], delimiter: string, options: FormatOptions = {}): string {
  // A lone empty field would be a blank line, which readers skip.
  if (values.length === 1 && values[0] === "") return '""';
  return values.map((v) => formatField(v, delimiter, options)).join(delimiter);
}
