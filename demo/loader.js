// Reading model files with progress and without a second copy: the bytes stream into ONE Uint8Array allocated up
// front at the size the server (Content-Length) or the File (size) announces. `response.arrayBuffer()` would be
// simpler but gives no progress; collecting chunks and concatenating them would hold the file twice at the end.

/**
 * Streams a byte source into a preallocated array. `onProgress(loaded, total)` is called per chunk (total may be
 * null when unknown). Throws if the source sends more or fewer bytes than announced.
 */
export async function readStreamInto(stream, total, onProgress = () => {}, what = "file") {
  const reader = stream.getReader();
  if (total === null) return readUnknownLength(reader, onProgress);
  const bytes = new Uint8Array(total);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > total) {
      await reader.cancel();
      throw new Error(`${what}: more than the announced ${total} bytes arrived`);
    }
    bytes.set(value, loaded);
    loaded += value.length;
    onProgress(loaded, total);
  }
  if (loaded !== total) throw new Error(`${what}: ${loaded} of the announced ${total} bytes arrived`);
  return bytes;
}

// Without a length (a compressed or chunked response) the buffer must grow; doubling keeps the copies to about one
// file's worth in total, and the result is trimmed to a view (no final copy).
async function readUnknownLength(reader, onProgress) {
  let bytes = new Uint8Array(1 << 20);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > bytes.length) {
      let size = bytes.length * 2;
      while (size < loaded + value.length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(bytes.subarray(0, loaded));
      bytes = grown;
    }
    bytes.set(value, loaded);
    loaded += value.length;
    onProgress(loaded, null);
  }
  return bytes.subarray(0, loaded);
}

/** GET a URL's bytes with progress. Content-Length is trusted only for an uncompressed body. */
export async function fetchBytes(url, onProgress, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${response.statusText}`);
  const length = response.headers.get("content-length");
  const encoding = response.headers.get("content-encoding");
  const total = length !== null && (encoding === null || encoding === "identity") ? Number(length) : null;
  if (response.body === null) return new Uint8Array(await response.arrayBuffer());
  return readStreamInto(response.body, Number.isSafeInteger(total) ? total : null, onProgress, url);
}

/** A File's bytes with progress, through File.stream() into one array of File.size bytes. */
export function fileBytes(file, onProgress) {
  return readStreamInto(file.stream(), file.size, onProgress, file.name);
}

export async function fetchText(url, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${response.statusText}`);
  return response.text();
}

/**
 * Picks the model files out of a folder's files, given as { path, file } (path may carry folder names):
 * config.json, vocab.txt or tokenizer.json, and model.safetensors (or the only .safetensors file). The shallowest
 * file of each name wins: a folder may hold checkpoints in subfolders.
 */
export function pickModelFiles(entries) {
  const byName = new Map();
  for (const { path, file } of entries) {
    const base = path.slice(path.lastIndexOf("/") + 1);
    const depth = path.split("/").length;
    const prev = byName.get(base);
    if (prev === undefined || depth < prev.depth) byName.set(base, { file, depth });
  }
  const get = (n) => byName.get(n)?.file ?? null;
  let weights = get("model.safetensors");
  if (weights === null) {
    const all = [...byName.entries()].filter(([n]) => n.endsWith(".safetensors"));
    if (all.length === 1) weights = all[0][1].file;
  }
  const missing = [];
  if (get("config.json") === null) missing.push("config.json");
  if (get("vocab.txt") === null && get("tokenizer.json") === null) missing.push("vocab.txt or tokenizer.json");
  if (weights === null) missing.push("model.safetensors");
  return { config: get("config.json"), vocab: get("vocab.txt"), tokenizer: get("tokenizer.json"), weights, missing };
}
