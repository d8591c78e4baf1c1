/** Line splitting, CSV/TSV parsing and writing, input records and atomic output files (src/node/formats). */
import fc from "fast-check";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DelimitedParser, DelimitedSyntaxError, formatRecord, neutralizeFormula } from "../src/node/formats/delimited.js";
import { decodeLine, splitLines } from "../src/node/formats/lines.js";
import { AtomicFileWriter, RecordFormatter, resultFieldNames } from "../src/node/formats/output.js";
import { RecordReader, type BadRecord, type InputFormat } from "../src/node/formats/records.js";
import { bar, classifyProgressLine, downloadProgressLine, formatBytes, formatDuration, StatusLine } from "../src/node/progress.js";
import { tempDirs } from "./helpers/temp-dirs.js";

const tmp = tempDirs("formats");

async function* chunks(parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === "string" ? Buffer.from(p, "utf8") : p;
}

async function lines(parts: (string | Uint8Array)[]) {
  const out: { text: string | undefined; lineNo: number; eol: string; offset: number }[] = [];
  for await (const l of splitLines(chunks(parts), "x")) out.push({ text: decodeLine(l.bytes), lineNo: l.lineNo, eol: l.eol, offset: l.offset });
  return out;
}

/** Parse a whole CSV/TSV text the way RecordReader feeds the parser: line by line. */
function parseAll(text: string, delimiter: string): string[][] {
  const p = new DelimitedParser(delimiter);
  const records: string[][] = [];
  const re = /([^\n]*?)(\r\n|\n|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m.index < text.length) {
    const r = p.feed(m[1], m[2]);
    if (r !== undefined) records.push(r);
  }
  expect(p.pending).toBe(false);
  return records;
}

describe("splitLines", () => {
  it("splits on LF and CRLF, keeps a last line without newline, counts lines and bytes", async () => {
    expect(await lines(["a\r\nbb\n\nccc"])).toEqual([
      { text: "a", lineNo: 1, eol: "\r\n", offset: 3 },
      { text: "bb", lineNo: 2, eol: "\n", offset: 6 },
      { text: "", lineNo: 3, eol: "\n", offset: 7 },
      { text: "ccc", lineNo: 4, eol: "", offset: 10 },
    ]);
  });

  it("handles lines, CRLFs and multi-byte characters split across chunks; drops only a leading BOM", async () => {
    const euro = Buffer.from("€", "utf8");
    const got = await lines([Buffer.from([0xef, 0xbb, 0xbf]), "ab", "c\r", "\nd", euro.subarray(0, 1), euro.subarray(1), "\n\uFEFFkept\n"]);
    expect(got.map((l) => [l.text, l.eol])).toEqual([["abc", "\r\n"], ["d€", "\n"], ["\uFEFFkept", "\n"]]);
    expect(got.at(-1)!.offset).toBe(3 + 2 + 2 + 2 + 3 + 1 + 3 + 4 + 1);
  });

  it("reports bytes that are not UTF-8 as undefined, line by line", async () => {
    const got = await lines([Buffer.from([0x6f, 0x6b, 0x0a, 0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x0a, 0x6f, 0x6b])]);
    expect(got.map((l) => l.text)).toEqual(["ok", undefined, undefined, "ok"]);
  });
});

describe("CSV/TSV parser and writer", () => {
  it("quoted fields with delimiters, doubled quotes and embedded LF and CRLF line breaks", () => {
    const csv = 'id,text\r\n1,"hello, world"\r\n2,"she said ""hi"""\r\n3,"two\r\nlines\nand three"\n4,plain "quote" inside\n5,\n';
    expect(parseAll(csv, ",")).toEqual([
      ["id", "text"],
      ["1", "hello, world"],
      ["2", 'she said "hi"'],
      ["3", "two\r\nlines\nand three"],
      ["4", 'plain "quote" inside'],
      ["5", ""],
    ]);
    expect(parseAll('a\tb\n"x\ty"\t"z"\n', "\t")).toEqual([["a", "b"], ["x\ty", "z"]]);
  });

  it("text after a closing quote is an error; an open quote keeps the record pending", () => {
    const p = new DelimitedParser(",");
    expect(() => p.feed('"abc"def,1', "\n")).toThrow(DelimitedSyntaxError);
    p.reset();
    expect(p.feed('"open', "\n")).toBeUndefined();
    expect(p.pending).toBe(true);
    expect(p.feed('still", 2', "\n")).toEqual(["open\nstill", " 2"]);
  });

  it("writing then parsing gives back any records (property)", () => {
    const field = fc.string({ unit: fc.constantFrom("a", "b", " ", ",", "\t", '"', "\n", "\r\n", "é", "😀", "x", "=", "-", "+", "@", "1") });
    fc.assert(
      fc.property(fc.constantFrom(",", "\t"), fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), (d, recs) => {
        // Equal widths, as a real table; a record of one empty field is written as "" (a blank line would be skipped).
        const width = recs[0].length;
        const table = recs.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ""));
        const text = table.map((r) => formatRecord(r, d, { raw: true }) + "\n").join("");
        expect(parseAll(text, d)).toEqual(table);
        // By default a cell that would start a formula (here a leading tab or CR) comes back with its leading '.
        const safe = table.map((r) => formatRecord(r, d) + "\n").join("");
        expect(parseAll(safe, d)).toEqual(table.map((r) => r.map(neutralizeFormula)));
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe("RecordReader", () => {
  async function read(name: string, content: string | Buffer, format: InputFormat, text = "text", extra: string[] = [], skip = false) {
    const path = join(tmp(), name);
    writeFileSync(path, content);
    const bad: BadRecord[] = [];
    const reader = await RecordReader.open({ path, format, text: { name: text, option: "--column" }, extra: extra.map((e) => ({ name: e, option: "--label-column" })), onBadRecord: skip ? (b) => bad.push(b) : undefined });
    const rows: { lineNo: number; text: string; row: Record<string, unknown> }[] = [];
    for await (const r of reader.records()) rows.push({ lineNo: r.lineNo, text: r.text, row: { ...r.row } });
    return { rows, bad, reader };
  }

  it("CSV: BOM, CRLF, header, multi-line records numbered by their first line, columns kept", async () => {
    const { rows, reader } = await read("a.csv", '\uFEFFid,text,label\r\n1,"first\r\nsecond",pos\r\n\r\n2,plain,neg\r\n', "csv", "text", ["label"]);
    expect(reader.columns).toEqual(["id", "text", "label"]);
    expect(rows).toEqual([
      { lineNo: 2, text: "first\r\nsecond", row: { id: "1", text: "first\r\nsecond", label: "pos" } },
      { lineNo: 5, text: "plain", row: { id: "2", text: "plain", label: "neg" } },
    ]);
    expect(reader.bytesRead).toBe(reader.size);
  });

  it("a missing column is a usage error that lists the columns; bad rows name their line", async () => {
    await expect(read("b.tsv", "sentence\tlabel\nx\t1\n", "tsv", "review")).rejects.toThrow(/^--column: .*b\.tsv has no column "review" \(columns: "sentence", "label"\)/);
    await expect(read("c.csv", "text,label\nok,1\ntoo,many,fields\n", "csv")).rejects.toThrow(/c\.csv:3: has 3 fields but the header has 2; expected a well-formed record \(or --skip-bad-lines/);
    await expect(read("d.csv", 'text\n"never closed\nmore\n', "csv")).rejects.toThrow(/d\.csv:2: a quoted field is never closed/);
  });

  it("lines that are not UTF-8 are reported with their number, or skipped and counted", async () => {
    const content = Buffer.concat([Buffer.from("good one\n"), Buffer.from([0x62, 0xe9, 0x62, 0x65, 0x0a]), Buffer.from("good two\n")]);
    await expect(read("e.txt", content, "txt")).rejects.toThrow(/e\.txt:2: is not valid UTF-8/);
    const { rows, bad } = await read("e.txt", content, "txt", "text", [], true);
    expect(rows.map((r) => [r.lineNo, r.text])).toEqual([[1, "good one"], [3, "good two"]]);
    expect(bad).toEqual([{ lineNo: 2, problem: "is not valid UTF-8" }]);
  });

  it("txt keeps every line, empty ones too; JSONL takes a field, skips blank lines, checks each object", async () => {
    const t = await read("f.txt", "a\n\nb", "txt");
    expect(t.rows.map((r) => r.text)).toEqual(["a", "", "b"]);
    const j = await read("g.jsonl", '{"id":1,"body":"x"}\n\n{"id":2,"body":"y","__proto__":1}\n[1]\n{"id":3}\nnot json\n', "jsonl", "body", [], true);
    expect(j.rows.map((r) => [r.lineNo, r.text])).toEqual([[1, "x"], [3, "y"]]);
    expect(Object.keys(j.rows[1].row)).toEqual(["id", "body", "__proto__"]);
    expect(j.bad.map((b) => b.lineNo)).toEqual([4, 5, 6]);
    expect(j.bad[1].problem).toMatch(/has no field "body"/);
    expect(j.reader.columns).toEqual(["id", "body"]);
  });

  it("a default name can fall back (text, else sentence); a missing file is named", async () => {
    const path = join(tmp(), "sst.tsv");
    writeFileSync(path, "sentence\tlabel\nit 's fine . \t1\n");
    const key = { name: "text", option: "--column", alternatives: ["sentence"] };
    const reader = await RecordReader.open({ path, format: "tsv", text: key });
    const got = [];
    for await (const r of reader.records()) got.push(r.text);
    expect(got).toEqual(["it 's fine . "]);
    expect(reader.keyName(key)).toBe("sentence");
    await expect(RecordReader.open({ path: "/nonexistent/in.txt", format: "txt", text: key })).rejects.toThrow(/^\/nonexistent\/in\.txt: does not exist/);
  });
});

describe("output", () => {
  it("result names never overwrite input columns", () => {
    expect(resultFieldNames(["text"], ["label", "score"])).toEqual(["label", "score"]);
    expect(resultFieldNames(["sentence", "label", "predicted_score", "score"], ["label", "score"])).toEqual(["predicted_label", "predicted_score_2"]);
  });

  it("CSV keeps the input columns and quotes what must be quoted; JSONL keeps every key", () => {
    const row = Object.assign(Object.create(null), { id: "1", text: 'a "b", c\nd' });
    const csv = new RecordFormatter("csv", ["id", "text"], ["label", "score"]);
    expect(csv.format1(row, ["POSITIVE", 0.75])).toBe('id,text,label,score\n1,"a ""b"", c\nd",POSITIVE,0.75\n');
    expect(csv.format1(row, ["NEGATIVE", 0.5])).toBe('1,"a ""b"", c\nd",NEGATIVE,0.5\n');
    expect(new RecordFormatter("tsv", ["text"], ["label"]).finish()).toBe("text\tlabel\n");
    const jrow = JSON.parse('{"__proto__": {"x": 1}, "text": "t"}');
    const jsonl = new RecordFormatter("jsonl", ["text"], ["label", "truncated"]);
    expect(JSON.parse(jsonl.format1(jrow, ["POSITIVE", false]))).toEqual(JSON.parse('{"__proto__": {"x": 1}, "text": "t", "label": "POSITIVE", "truncated": false}'));
  });

  it("an atomic file appears only on commit; abort leaves nothing", async () => {
    const d = tmp();
    const path = join(d, "out.jsonl");
    const w = await AtomicFileWriter.open(path);
    await w.write("one\n");
    expect(existsSync(path)).toBe(false);
    expect(w.tmpPath).toBe(`${path}.tmp-${process.pid}`);
    await w.commit();
    expect(readFileSync(path, "utf8")).toBe("one\n");
    expect(existsSync(w.tmpPath)).toBe(false);
    const w2 = await AtomicFileWriter.open(path);
    await w2.write("two\n");
    await w2.abort();
    expect(readFileSync(path, "utf8")).toBe("one\n");
    expect(existsSync(w2.tmpPath)).toBe(false);
    await expect(AtomicFileWriter.open(join(d, "missing", "x.csv"))).rejects.toThrow(/x\.csv: cannot be written: its folder .*missing does not exist/);
  });
});

describe("progress display", () => {
  it("formats sizes, durations and bars", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(267_832_560)).toBe("267.8 MB");
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(75)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(Infinity)).toBe("?");
    expect(bar(0, 10)).toBe("[          ]");
    expect(bar(0.45, 10)).toBe("[====>     ]");
    expect(bar(1, 10)).toBe("[==========]");
  });

  it("download line: bytes, percentage, speed of this transfer only, ETA", () => {
    const line = downloadProgressLine({ file: "model.safetensors", received: 150_000_000, total: 250_000_000, resumedFrom: 50_000_000, elapsedMs: 10_000 }, 10);
    expect(line).toBe("model.safetensors  [======>   ]   60%  150.0 MB/250.0 MB  10.0 MB/s  ETA 0:10");
    expect(downloadProgressLine({ file: "f", received: 2000, total: undefined, resumedFrom: 0, elapsedMs: 1000 })).toBe("f  2.0 kB  2.0 kB/s");
  });

  it("classify line: share of the file read, texts, texts/s, ETA", () => {
    expect(classifyProgressLine({ texts: 4500, bytesRead: 450, totalBytes: 1000, elapsedMs: 9000 }, 10)).toBe("[====>     ]   45%  4,500 texts  500 texts/s  ETA 0:11");
    expect(classifyProgressLine({ texts: 3, bytesRead: 0, totalBytes: undefined, elapsedMs: 1000 })).toBe("3 texts  3.0 texts/s");
  });

  it("the status line redraws in place at most every interval and clears itself", () => {
    let out = "";
    let t = 0;
    const s = new StatusLine({ write: (x: string) => ((out += x), true) } as never, 100, () => t);
    s.update(() => "a");
    t = 50;
    s.update(() => "b");
    t = 150;
    s.update(() => "c");
    s.finish("done");
    expect(out).toBe("\ra\x1b[K\rc\x1b[K\r\x1b[Kdone\n");
  });
});
