import type { WordPieceTokenizer } from "../../src/tokenizer/index.js";

/**
 * A clean / corrupted pair that differ in one word and have the same number of word pieces under this tokenizer
 * (activation patching needs positions to correspond), whatever vocabulary the fixture has.
 */
export function patchTexts(tokenizer: WordPieceTokenizer): { clean: string; corrupted: string } {
  const clean = "the movie was great";
  const n = tokenizer.encode(clean).ids.length;
  for (const word of ["awful", "bad", "terrible", "boring", "fine", "good", "poor", "dull"]) {
    const corrupted = `the movie was ${word}`;
    const e = tokenizer.encode(corrupted);
    if (e.ids.length === n && e.tokens.join(" ") !== tokenizer.encode(clean).tokens.join(" ")) return { clean, corrupted };
  }
  throw new Error("no corrupted text with as many word pieces as the clean one under this vocabulary");
}
