/**
 * The Node host for the Fetch API handler (src/server): an http.Server that turns each IncomingMessage into a
 * Request and writes the Response back. Everything about the API lives in the handler; this file does what only a
 * socket owner can: timeouts for slow headers (slowloris) and slow bodies, keep-alive, closing the connection after
 * a 413, aborting a request whose client went away, and a graceful stop.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ServerHandler } from "../server/handler.js";

export interface NodeServeOptions {
  host: string;
  port: number;
  /** The whole request head must arrive within this (slowloris); default 10 s. */
  headersTimeoutMs?: number;
  /** The whole request (head and body) must arrive within this; default 30 s. */
  requestTimeoutMs?: number;
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
  const requestTimeout = Math.max(options.requestTimeoutMs ?? 30_000, headersTimeout);
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 65_000,
      // How often Node checks the two timeouts above (its default, 30 s, would let a slow client hold on far longer).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 2))),
    },
    (req, res) => void respond(handler, req, res),
  );
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
  // After a 413 the rest of the body may still be coming: close instead of reading it. While draining, close so the
  // client moves to another server.
  if (response.status === 413 || handler.draining) out.connection = "close";
  res.writeHead(response.status, out);
  res.end(body);
  if (response.status === 413) req.resume();
}
