/**
 * The command line's head-mask text: one row of n_heads multipliers per layer, rows separated by `;`, values by `,`
 * ("1,0,1;1,1,0.5"). A single row applies to every layer, as Hugging Face does with a 1-D head_mask.
 */
import { UsageError } from "../errors.js";

export function parseHeadMaskText(text: string, nLayers: number, nHeads: number, where = "--head-mask"): number[][] {
  const rows = text
    .split(";")
    .map((r) => r.trim())
    .filter((r, i, all) => r !== "" || i < all.length - 1); // a trailing ';' is harmless
  if (rows.length === 0 || (rows.length === 1 && rows[0] === "")) {
    throw new UsageError(where, "is empty", `${nLayers} rows of ${nHeads} values like "${exampleRow(nHeads)}", separated by ';'`);
  }
  const parsed = rows.map((row, r) => {
    const cells = row.split(",").map((c) => c.trim());
    return cells.map((c, h) => {
      const v = c === "" ? NaN : Number(c);
      if (!Number.isFinite(v)) {
        throw new UsageError(where, `row ${r + 1}, value ${h + 1}: ${JSON.stringify(c)} is not a number`, "finite numbers such as 1, 0 or 0.5");
      }
      return v;
    });
  });
  parsed.forEach((row, r) => {
    if (row.length !== nHeads) throw new UsageError(where, `row ${r + 1} has ${row.length} values`, `${nHeads} (one per head)`);
  });
  if (parsed.length === 1) return Array.from({ length: nLayers }, () => parsed[0].slice());
  if (parsed.length !== nLayers) {
    throw new UsageError(where, `has ${parsed.length} rows`, `1 row or ${nLayers} (one per layer), separated by ';'`);
  }
  return parsed;
}

export function formatHeadMask(mask: readonly (readonly number[])[]): string {
  return mask.map((row) => row.join(",")).join(";");
}

function exampleRow(nHeads: number): string {
  return Array.from({ length: Math.min(nHeads, 3) }, (_, i) => (i === 1 ? "0" : "1")).join(",") + (nHeads > 3 ? ",…" : "");
}
