/**
 * CSV and TSV, RFC 4180 style: fields separated by the delimiter; a field that starts with `"` is quoted and may hold
 * delimiters, `""` (one quote) and line breaks (kept exactly, CRLF or LF). A `"` inside an unquoted field is kept as a
 * character, as most writers of TSV expect. Text after a closing quote is an error, as is a quote left open.
 */

export class DelimitedSyntaxError extends Error {}

/**
 * Fed one line at a time (without its line ending), returns each complete record. A record spans several lines when
 * a quoted field holds line breaks; `maxRecordChars` stops a stray quote from swallowing the rest of a large file.
 */
export class DelimitedParser {
  private fields: string[] = [];
  private field = "";
  private inQuotes = false;
  private afterQuote = false;
  private chars = 0;

  constructor(
    readonly delimiter: string,
    private readonly maxRecordChars = 8 * 1024 * 1024,
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") throw new Error(`bad delimiter ${JSON.stringify(delimiter)}`);
  }

  /** Whether a record is open across lines (inside a quoted field). */
  get pending(): boolean {
    return this.inQuotes;
  }

  /** Forget a half-read record (after an error, to go on with the next line). */
  reset(): void {
    this.fields = [];
    this.field = "";
    this.inQuotes = false;
    this.afterQuote = false;
    this.chars = 0;
  }

  /** One line and the line ending that followed it; the record, once it is complete. */
  feed(line: string, eol: string): string[] | undefined {
    this.chars += line.length + eol.length;
    if (this.chars > this.maxRecordChars) {
      throw new DelimitedSyntaxError(`a record is longer than ${this.maxRecordChars} characters (is a quote left open?)`);
    }
    const d = this.delimiter;
    if (!this.inQuotes && !this.afterQuote && this.field === "" && this.fields.length === 0 && !line.includes('"')) {
      // The common case, a line with no quotes at all.
      this.chars = 0;
      return line.split(d);
    }
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (this.inQuotes) {
        if (c === '"') {
          if (line[i + 1] === '"') {
            this.field += '"';
            i++;
          } else {
            this.inQuotes = false;
            this.afterQuote = true;
          }
        } else {
          this.field += c;
        }
      } else if (c === d) {
        this.fields.push(this.field);
        this.field = "";
        this.afterQuote = false;
      } else if (this.afterQuote) {
        throw new DelimitedSyntaxError(`text after a closing quote in field ${this.fields.length + 1}`);
      } else if (c === '"' && this.field === "") {
        this.inQuotes = true;
      } else {
        this.field += c;
      }
    }
    if (this.inQuotes) {
      this.field += eol === "" ? "\n" : eol;
      return undefined;
    }
    this.fields.push(this.field);
    const record = this.fields;
    this.fields = [];
    this.field = "";
    this.afterQuote = false;
    this.chars = 0;
    return record;
  }
}

export { type FormatOptions, formatField, formatRecord, neutralizeFormula } from "../../csv.js";
