/**
 * Strict UTF-8 decoding for hosts without TextDecoder (a bare V8 context, some sandboxes and embedded engines):
 * TextDecoder is a host API, not ECMAScript. Same answer as `new TextDecoder("utf-8", { fatal: true, ignoreBOM:
 * true })`: a leading BOM is kept, and overlong forms, surrogates (ED A0..BF), code points above U+10FFFF, stray
 * continuation bytes and truncated sequences all throw.
 */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  const n = bytes.length;
  let out = "";
  // Code units are gathered in chunks: String.fromCharCode(...units) on one chunk at a time keeps the argument count
  // far below engines' limits.
  const units = new Uint16Array(8192);
  let u = 0;
  for (let i = 0; i < n; ) {
    if (u > 8188) {
      out += String.fromCharCode(...units.subarray(0, u));
      u = 0;
    }
    const b0 = bytes[i];
    if (b0 < 0x80) {
      units[u++] = b0;
      i++;
      continue;
    }
    let need: number;
    let cp: number;
    // The allowed range of the second byte (Unicode Table 3-7) rules out overlongs and surrogates up front.
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      if (b0 === 0xe0) lo = 0xa0;
      else if (b0 === 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      if (b0 === 0xf0) lo = 0x90;
      else if (b0 === 0xf4) hi = 0x8f;
    } else {
      throw new TypeError(`invalid UTF-8 lead byte 0x${b0.toString(16)} at ${i}`);
    }
    if (i + need >= n) throw new TypeError(`truncated UTF-8 sequence at ${i}`);
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) throw new TypeError(`invalid UTF-8 continuation byte at ${i + k}`);
      cp = (cp << 6) | (b & 0x3f);
    }
    i += need + 1;
    if (cp < 0x10000) {
      units[u++] = cp;
    } else {
      cp -= 0x10000;
      units[u++] = 0xd800 | (cp >> 10);
      units[u++] = 0xdc00 | (cp & 0x3ff);
    }
  }
  return out + String.fromCharCode(...units.subarray(0, u));
}
