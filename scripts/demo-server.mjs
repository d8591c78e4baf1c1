// A tiny static file server for the browser demo (and the browser tests), on 127.0.0.1 only.
//
//   npm run demo                     builds, then serves demo/ at http://127.0.0.1:8787/
//   node scripts/demo-server.mjs [--port N] [--model DIR]
//
// Mounts: /            → demo/
//         /dist/       → dist/ (the browser bundle lives in dist/browser/)
//         /fixture/    → ../shared/fixtures/tiny (when present: a small random-weight model to try the page with)
//         /model/      → --model DIR (e.g. weights/distilbert-base-uncased-finetuned-sst-2-english), if given
// Every response carries a Content-Security-Policy without 'unsafe-eval' (so the page proves the engine needs no
// eval) and Content-Length (so fetch() can show download progress).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".safetensors": "application/octet-stream",
};

/** The CSP: scripts only from this origin, no eval; WebAssembly compilation only if `wasm` (our own emitted bytes). */
export function contentSecurityPolicy({ wasm = true } = {}) {
  const script = wasm ? "'self' 'wasm-unsafe-eval'" : "'self'";
  return [
    "default-src 'self'",
    `script-src ${script}`,
    `worker-src 'self'`,
    // A model may be fetched from any URL the user types in (CORS still applies).
    "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/**
 * Starts a static server. `mounts` maps a URL prefix ("/dist/") to a directory; the longest matching prefix wins.
 * `csp` is the Content-Security-Policy, or a function of the request URL giving it (tests vary it per page);
 * `crossOriginIsolated` adds COEP/CORP headers.
 * Resolves with { url, port, close() }.
 */
export function startStaticServer({ mounts, port = 0, host = "127.0.0.1", csp = contentSecurityPolicy(), crossOriginIsolated = false, log = false }) {
  const entries = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith("/") ? prefix : prefix + "/", resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer((req, res) => {
    const send = (status, text) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed\n");
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      return send(400, "bad path\n");
    }
    // Which folders are mounted, so the demo page can offer them without probing (and logging 404s).
    if (path === "/_mounts.json") {
      const body = JSON.stringify(entries.map(([prefix]) => prefix));
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
      return res.end(req.method === "HEAD" ? undefined : body);
    }
    const mount = entries.find(([prefix]) => path.startsWith(prefix) || path + "/" === prefix);
    if (mount === undefined) return send(404, "not found\n");
    const [prefix, dir] = mount;
    let file = resolve(dir, "." + sep + path.slice(prefix.length));
    // No escaping the mounted directory (.., encoded slashes, absolute paths).
    if (file !== dir && !file.startsWith(dir + sep)) return send(403, "forbidden\n");
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file) || !statSync(file).isFile()) return send(404, "not found\n");
    const size = statSync(file).size;
    res.writeHead(200, {
      "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": size,
      "cache-control": "no-store",
      "content-security-policy": typeof csp === "function" ? csp(new URL(req.url ?? "/", "http://x")) : csp,
      "cross-origin-opener-policy": "same-origin",
      "x-content-type-options": "nosniff",
      // Cross-origin isolation gives pages SharedArrayBuffer (the wasm backend's threads); it also makes every
      // cross-origin subresource need CORS or CORP, so it is opt-in.
      ...(crossOriginIsolated ? { "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" } : {}),
    });
    if (log) console.log(`${req.method} ${path} ${size} B`);
    if (req.method === "HEAD") return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const actual = typeof addr === "object" && addr !== null ? addr.port : port;
      resolvePromise({
        url: `http://${host}:${actual}/`,
        port: actual,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r(undefined));
          }),
      });
    });
  });
}

/** The demo's mounts: the page, the built bundle, the shared fixture model and an optional model folder. */
export function demoMounts(modelDir) {
  const mounts = { "/": join(root, "demo"), "/dist/": join(root, "dist") };
  const fixture = resolve(root, "../shared/fixtures/tiny");
  if (existsSync(fixture)) mounts["/fixture/"] = fixture;
  if (modelDir) mounts["/model/"] = resolve(modelDir);
  return mounts;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const port = Number(opt("--port") ?? process.env.PORT ?? 8787);
  const modelDir = opt("--model");
  if (!existsSync(join(root, "dist/browser/distilbert-ts.min.js"))) {
    console.error("error: dist/browser/distilbert-ts.min.js is missing; run `npm run build` (or `npm run demo`) first");
    process.exit(2);
  }
  const mounts = demoMounts(modelDir);
  const { url } = await startStaticServer({ mounts, port });
  console.log(`distilbert-ts demo: ${url}`);
  if (mounts["/fixture/"]) console.log(`  tiny fixture model (random weights): ${url}fixture/`);
  if (mounts["/model/"]) console.log(`  your model folder: ${url}model/`);
  console.log("  Ctrl-C to stop");
}
