/**
 * The Node host for the Fetch API handler (src/server): an http.Server that turns each IncomingMessage into a
 * Request and writes the Response back. Everything about the API lives in the handler; this file does what only a
 * socket owner can: a timeout for slow headers (slowloris), keep-alive, closing the connection after a 413 or a 504
 * (a body still arriving is not read), aborting a request whose client went away, and a graceful stop.
 *
 * The header timeout is ours, not Node's headersTimeout/requestTimeout: a model call blocks the event loop (seconds
 * for a large batch of a full-size model on one thread), and Node's checks, run by a timer when the loop comes back,
 * answered 408 to connections whose complete request head had been waiting unread in the socket all along (7 of 80
 * requests in a test with 1.5 s model calls and a 0.5 s timeout). Ours, when its timer fires, judges only after the
 * loop has read what arrived.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import type { ServerHandler } from "../server/handler.js";
import { Gauge } from "../server/metrics.js";

export interface NodeServeOptions {
  host: string;
  port: number;
  /**
   * A new connection's first request head must arrive within this (slowloris), else 408 and close; default 10 s.
   * A keep-alive connection's next head: within the keep-alive timeout. (A slow body is the handler's request
   * timeout: 504, and the connection closed.)
   */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this; default 65 s (longer than common load balancers' 60 s). */
  keepAliveTimeoutMs?: number;
}

export interface NodeServer {
  server: Server;
  /** http://HOST:PORT, with the port the system gave when 0 was asked. */
  url: string;
  /**
   * Graceful stop: no new connections, inference requests answered 503, every request in flight finished and
   * answered, idle connections closed. Resolves when the server is closed.
   */
  shutdown(): Promise<void>;
}

export async function serveNode(handler: ServerHandler, options: NodeServeOptions): Promise<NodeServer> {
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  const server = createServer(
    // Node's own head/request timeouts off (see the module comment); watchHead below instead.
    { headersTimeout: 0, requestTimeout: 0, keepAliveTimeout },
    (req, res) => {
      // The socket as it is now: by "finish" Node may have detached it from req (null), e.g. after a 413 that closes it.
      const socket = req.socket;
      headArrived(socket);
      res.once("finish", () => watchHead(socket, Math.max(headersTimeout, keepAliveTimeout)));
      void respond(handler, req, res);
    },
  );
  server.on("connection", (socket: Socket) => watchHead(socket, headersTimeout));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" || addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    shutdown() {
      closing ??= (async () => {
        handler.drain();
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        await handler.idle();
        // Answers already written; connections that were busy close after them (draining answers say close).
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), 2000);
        await closed;
        clearTimeout(grace);
      })();
      return closing;
    },
  };
}

/** Per socket: the pending header timer, and whether a request head is awaited. */
const heads = new WeakMap<Socket, { timer: ReturnType<typeof setTimeout> | undefined; waiting: boolean }>();

/** Wait at most `ms` for the socket's next request head; then 408 and close, unless it came meanwhile. */
function watchHead(socket: Socket | null, ms: number): void {
  if (socket === null || socket.destroyed) return;
  let state = heads.get(socket);
  if (state === undefined) {
    const s = { timer: undefined as ReturnType<typeof setTimeout> | undefined, waiting: false };
    heads.set(socket, s);
    socket.once("close", () => clearTimeout(s.timer));
    state = s;
  }
  const s = state;
  clearTimeout(s.timer);
  s.waiting = true;
  s.timer = setTimeout(() => {
    // The timer may fire late, the loop having been busy with a model call while a complete head sat unread.
    // setImmediate runs after this turn's poll phase, which reads and parses what arrived (a head that did arrive
    // has then called headArrived): only a head still missing then is a slow client.
    setImmediate(() => {
      if (!s.waiting || socket.destroyed) return;
      socket.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", () => socket.destroy());
    });
  }, ms);
  s.timer.unref?.();
}

function headArrived(socket: Socket): void {
  const s = heads.get(socket);
  if (s === undefined) return;
  s.waiting = false;
  clearTimeout(s.timer);
}

async function respond(handler: ServerHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // A client that leaves: its socket closes, or (Node keeps sockets half-open) ends its side. As Go's server does,
  // the end of the client's side before the answer counts as leaving, so its queued inputs are dropped.
  const abort = new AbortController();
  const gone = () => {
    if (!res.writableFinished) abort.abort(new Error("client closed the connection"));
  };
  const socket = req.socket;
  res.once("close", gone);
  if (socket.readableEnded) gone();
  else socket.once("end", gone);
  res.once("finish", () => socket.removeListener("end", gone));
  let request: Request;
  try {
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    request = new Request(new URL(req.url ?? "/", "http://localhost"), {
      method: req.method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : undefined,
      signal: abort.signal,
      duplex: "half",
    } as RequestInit);
  } catch {
    res.writeHead(400, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify({ error: "malformed request", error_type: "Validation" }));
    return;
  }
  let response: Response;
  try {
    response = await handler.fetch(request, { remote: req.socket.remoteAddress });
  } catch {
    // The handler answers every error itself; this is a last resort, never a stack trace.
    response = new Response(JSON.stringify({ error: "internal error", error_type: "Backend" }), { status: 500, headers: { "content-type": "application/json" } });
  }
  if (res.destroyed) return;
  const body = Buffer.from(await response.arrayBuffer());
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => (out[k] = v));
  out["content-length"] = String(body.byteLength);
  // After a 413 or a 504 the rest of the body may still be coming: close instead of reading it. While draining,
  // close so the client moves to another server.
  const cut = response.status === 413 || response.status === 504;
  if (cut || handler.draining) out.connection = "close";
  res.writeHead(response.status, out);
  res.end(body);
  if (cut) req.resume();
}

/** This process's memory as Prometheus gauges (the names Prometheus' client libraries use), for /metrics. */
export function nodeProcessMetrics(): string {
  const m = process.memoryUsage();
  return [
    new Gauge("process_resident_memory_bytes", "Resident memory of the server process", () => m.rss),
    new Gauge("nodejs_heap_size_used_bytes", "V8 heap in use", () => m.heapUsed),
    new Gauge("nodejs_heap_size_total_bytes", "V8 heap reserved", () => m.heapTotal),
    new Gauge("nodejs_external_memory_bytes", "Memory held outside the V8 heap by JS objects (ArrayBuffers and WebAssembly memory included)", () => m.external),
  ].map((g) => g.render()).join("");
}
