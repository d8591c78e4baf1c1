/**
 * transformers' `clean_up_tokenization`: undoes the spaces the WordPiece decoder puts before punctuation and
 * English contractions. Plain string replacement, applied in this order, exactly as the Python and JS versions do.
 */
const CLEANUP: readonly [string, string][] = [
  [" .", "."],
  [" ?", "?"],
  [" !", "!"],
  [" ,", ","],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

export function cleanUpTokenization(text: string): string {
  for (const [from, to] of CLEANUP) if (text.includes(from)) text = text.replaceAll(from, to);
  return text;
}

/**
 * The WordPiece decoder followed by transformers' `clean_up_tokenization_spaces` pass over the whole string (what
 * `tokenizer.decode` returns for bert-base-uncased, whose config enables it); `cleanUpSpaces` false skips that pass.
 */
export function decodeWordPiece(
  tokens: readonly string[],
  decoder: { prefix: string; cleanup: boolean } | null,
  cleanUpSpaces = true,
): string {
  const final = cleanUpSpaces ? cleanUpTokenization : (t: string) => t;
  if (decoder === null) return final(tokens.join(" "));
  let out = "";
  for (let i = 0; i < tokens.length; i++) {
    let piece = tokens[i];
    if (i > 0) piece = piece.startsWith(decoder.prefix) ? piece.slice(decoder.prefix.length) : " " + piece;
    // Rust's decoder cleans each token on its own; patterns spanning tokens (" ' ", " n't") need the final pass.
    out += decoder.cleanup ? cleanUpTokenization(piece) : piece;
  }
  return final(out);
}
