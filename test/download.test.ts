/**
 * `download` against a Hub stand-in on 127.0.0.1, started here: the fixture model served under
 * /{model_id}/resolve/{revision}/{file} with the Hub's headers (ETag = git blob sha1 for small files; a 302 to a
 * second "CDN" server with X-Linked-Etag = sha256 for model.safetensors), Range requests, a connection cut mid-file,
 * a flipped byte, 401 without the token and 404 for what is not there. No internet is used.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { downloadModel, isDownloadComplete, MANIFEST, parseEndpoint, parseEtag, validateModelId, validateRevision, type DownloadEvent } from "../src/node/download.js";
import { DEFAULT_MODEL_ID, DEFAULT_REVISION, defaultModelDir, modelDirFor } from "../src/node/home.js";
import { CLI } from "./helpers/cli.js";
import { tinyDir } from "./helpers/fixture.js";

const MODEL = "test-org/tiny-sst2";
const REV = createHash("sha1").update("a commit").digest("hex");
const TOKEN = "hf_SECRETtestTOKEN0123456789";

interface Seen {
  server: "hub" | "cdn";
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

/** The Hub's behaviours, switchable per test. */
interface Mode {
  requireToken: boolean;
  /** CDN: send this many body bytes of model.safetensors, then cut the connection (once). */
  cutAfter?: number;
  /** CDN: flip the byte at this offset of model.safetensors. */
  corruptAt?: number;
  /** Hub: where the 302 for model.safetensors points instead of the CDN. */
  redirectTo?: string;
  /** Hub: leave out ETag/X-Linked-Etag. */
  noHash?: boolean;
}

const gitBlobSha1 = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

class FakeHub {
  readonly seen: Seen[] = [];
  mode: Mode = { requireToken: false };
  readonly files = new Map<string, Buffer>();
  private hub!: http.Server;
  private cdn!: http.Server;
  hubUrl = "";
  cdnUrl = "";

  constructor() {
    for (const f of ["config.json", "vocab.txt", "model.safetensors"]) this.files.set(f, readFileSync(join(tinyDir(), f)));
  }

  async start(): Promise<void> {
    this.hub = http.createServer((req, res) => this.onHub(req, res));
    this.cdn = http.createServer((req, res) => this.onCdn(req, res));
    await Promise.all([listen(this.hub), listen(this.cdn)]);
    this.hubUrl = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    this.cdnUrl = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of [this.hub, this.cdn]) s.closeAllConnections();
    await Promise.all([this.hub, this.cdn].map((s) => new Promise((r) => s.close(r))));
  }

  count(server?: "hub" | "cdn"): number {
    return this.seen.filter((s) => server === undefined || s.server === server).length;
  }

  private record(server: Seen["server"], req: http.IncomingMessage): void {
    this.seen.push({ server, path: req.url ?? "", authorization: req.headers.authorization, range: req.headers.range });
  }

  private onHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.record("hub", req);
    const m = /^\/(.+)\/resolve\/([^/]+)\/([^/?]+)$/.exec(req.url ?? "");
    if (this.mode.requireToken && req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401, { "X-Error-Code": "RepositoryNotFound" }).end("Unauthorized");
    if (m === null || (m[1] !== MODEL && m[1] !== DEFAULT_MODEL_ID)) return void res.writeHead(404, { "X-Error-Code": "RepositoryNotFound" }).end();
    const [, , rev, file] = m;
    if (rev !== REV && rev !== "main" && rev !== DEFAULT_REVISION) return void res.writeHead(404, { "X-Error-Code": "RevisionNotFound" }).end();
    const body = this.files.get(file);
    if (body === undefined) return void res.writeHead(404, { "X-Error-Code": "EntryNotFound" }).end("Entry not found");
    const common = { "X-Repo-Commit": REV };
    if (file === "model.safetensors") {
      const hash = sha256(body);
      const headers: Record<string, string> = { ...common, Location: this.mode.redirectTo ?? `${this.cdnUrl}/lfs/${hash}?X-Amz-Signature=abc123`, "X-Linked-Size": String(body.length) };
      if (!this.mode.noHash) headers["X-Linked-Etag"] = `"${hash}"`;
      return void res.writeHead(302, headers).end();
    }
    serve(req, res, body, this.mode.noHash ? common : { ...common, ETag: `"${gitBlobSha1(body)}"` });
  }

  private onCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.record("cdn", req);
    let body = this.files.get("model.safetensors")!;
    if (!(req.url ?? "").startsWith(`/lfs/${sha256(body)}?`)) return void res.writeHead(403).end();
    if (this.mode.corruptAt !== undefined) {
      body = Buffer.from(body);
      body[this.mode.corruptAt] ^= 0x01;
    }
    const cut = this.mode.cutAfter;
    this.mode.cutAfter = undefined;
    serve(req, res, body, { ETag: `"${createHash("md5").update(body).digest("hex")}"` }, cut);
  }
}

function listen(s: http.Server): Promise<void> {
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r()));
}

/** 200, or 206 for `Range: bytes=N-`; `cutAfter` sends that many bytes and then drops the connection. */
function serve(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, headers: Record<string, string>, cutAfter?: number): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  let start = 0;
  if (range !== null) {
    start = Number(range[1]);
    if (start >= body.length) return void res.writeHead(416, { "Content-Range": `bytes */${body.length}` }).end();
    res.writeHead(206, { ...headers, "Content-Length": String(body.length - start), "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}` });
  } else {
    res.writeHead(200, { ...headers, "Content-Length": String(body.length) });
  }
  const rest = body.subarray(start);
  if (cutAfter !== undefined) res.write(rest.subarray(0, cutAfter), () => res.socket?.destroy());
  else res.end(rest);
}

/** The built CLI, asynchronously (the server lives in this process, so spawnSync would deadlock). */
function cli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const clean = { ...process.env };
    for (const k of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "DISTILBERT_TS_HOME"]) delete clean[k];
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env } as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const hub = new FakeHub();
const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "distilbert-ts-download-"));
  temps.push(d);
  return d;
}

beforeAll(() => hub.start());
afterAll(async () => {
  await hub.stop();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
afterEach(() => {
  hub.mode = { requireToken: false };
});

function expectVerifiedCopy(dir: string): void {
  for (const f of ["config.json", "vocab.txt", "model.safetensors"]) {
    expect(readFileSync(join(dir, f)).equals(hub.files.get(f)!), f).toBe(true);
  }
  expect(readdirSync(dir).filter((n) => n.includes(".incomplete") || n.includes(".tmp-"))).toEqual([]);
}

describe("download from a local Hub stand-in", () => {
  it("fetches the three files, follows the 302 to the CDN, verifies sha256 and git sha1, skips the optional 404s", async () => {
    const dir = join(tempDir(), "m");
    const events: DownloadEvent[] = [];
    const r = await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl, onEvent: (e) => events.push(e) });
    expectVerifiedCopy(dir);
    expect(r.files.map((f) => [f.name, f.status])).toEqual([
      ["config.json", "downloaded"],
      ["vocab.txt", "downloaded"],
      ["tokenizer.json", "absent"],
      ["tokenizer_config.json", "absent"],
      ["model.safetensors", "downloaded"],
    ]);
    expect(r.files.find((f) => f.name === "model.safetensors")!.hash).toBe(`sha256:${sha256(hub.files.get("model.safetensors")!)}`);
    expect(r.files.find((f) => f.name === "config.json")!.hash).toBe(`git-sha1:${gitBlobSha1(hub.files.get("config.json")!)}`);
    expect(hub.count("cdn")).toBe(1);
    expect(await isDownloadComplete(dir)).toBe(true);
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8"));
    expect(manifest).toMatchObject({ model_id: MODEL, revision: REV, commit: REV, complete: true, absent: ["tokenizer.json", "tokenizer_config.json"] });
    const progress = events.filter((e) => e.type === "progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === "done").map((e) => e.file)).toEqual(["config.json", "vocab.txt", "model.safetensors"]);
  });

  it("a second run at a pinned commit makes no request; at a branch it asks the Hub but fetches nothing", async () => {
    const dir = join(tempDir(), "m");
    await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl });
    const before = hub.count();
    const again = await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl });
    expect(hub.count()).toBe(before);
    expect(again.files.map((f) => f.status)).toEqual(["present", "present", "absent", "absent", "present"]);

    const branchDir = join(tempDir(), "b");
    await downloadModel({ modelId: MODEL, revision: "main", dir: branchDir, endpoint: hub.hubUrl });
    const cdnBefore = hub.count("cdn");
    const hubBefore = hub.count("hub");
    const branch = await downloadModel({ modelId: MODEL, revision: "main", dir: branchDir, endpoint: hub.hubUrl });
    expect(branch.files.map((f) => f.status)).toEqual(["present", "present", "absent", "absent", "present"]);
    expect(hub.count("cdn")).toBe(cdnBefore);
    expect(hub.count("hub")).toBe(hubBefore + 5);
  });

  it("a file damaged on disk after the download is noticed on the next run and fetched again", async () => {
    const dir = join(tempDir(), "m");
    await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl });
    const path = join(dir, "model.safetensors");
    const bytes = readFileSync(path);
    bytes[1000] ^= 0xff;
    writeFileSync(path, bytes);
    const r = await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl });
    expect(r.files.find((f) => f.name === "model.safetensors")!.status).toBe("downloaded");
    expectVerifiedCopy(dir);
  });

  it("a folder that held another model is cleared first: a failed download never mixes two models' files", async () => {
    const dir = join(tempDir(), "m");
    await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl });
    hub.mode.cutAfter = 1000;
    await expect(downloadModel({ modelId: MODEL, revision: "main", dir, endpoint: hub.hubUrl })).rejects.toThrow(/model\.safetensors: the (transfer broke|connection closed)/);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, MANIFEST), "utf8"))).toMatchObject({ revision: "main", complete: false });
    expect(await isDownloadComplete(dir)).toBe(false);
  });

  it("a connection cut halfway keeps .incomplete; the next run resumes with Range and ends verified", async () => {
    const dir = join(tempDir(), "m");
    const size = hub.files.get("model.safetensors")!.length;
    hub.mode.cutAfter = Math.floor(size / 2);
    await expect(downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl })).rejects.toThrow(/model\.safetensors: the (transfer broke|connection closed) after \d+ of \d+ bytes.*kept .*model\.safetensors\.incomplete.*run the same command again to resume/);
    const partial = join(dir, "model.safetensors.incomplete");
    const have = statSync(partial).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThanOrEqual(Math.floor(size / 2));
    expect(existsSync(join(dir, "model.safetensors"))).toBe(false);
    expect(await isDownloadComplete(dir)).toBe(false);

    const events: DownloadEvent[] = [];
    const r = await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl, onEvent: (e) => events.push(e) });
    const last = hub.seen.filter((s) => s.server === "cdn").at(-1)!;
    expect(last.range).toBe(`bytes=${have}-`);
    expect(r.files.find((f) => f.name === "model.safetensors")!.status).toBe("resumed");
    expect(events.find((e) => e.type === "start" && e.file === "model.safetensors")).toMatchObject({ resumedFrom: have, total: size });
    expectVerifiedCopy(dir);
  });

  it("a flipped byte fails the sha256 check: refused, the file deleted, and the error says so", async () => {
    const dir = join(tempDir(), "m");
    hub.mode.corruptAt = 12345;
    const err = await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^model\.safetensors: sha256 mismatch: got [0-9a-f]{64}, the Hub says [0-9a-f]{64}; the corrupt download was deleted/);
    expect(readdirSync(dir).filter((n) => n.startsWith("model.safetensors"))).toEqual([]);
    expect(await isDownloadComplete(dir)).toBe(false);
  });

  it("401 without a token names HF_TOKEN; with it the Hub gets the bearer token and the CDN never does", async () => {
    hub.mode.requireToken = true;
    const dir = join(tempDir(), "m");
    await expect(downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl })).rejects.toThrow(/config\.json: http:\/\/127\.0\.0\.1:\d+\/test-org\/tiny-sst2\/resolve\/[0-9a-f]{40}\/config\.json answered 401.*no HF_TOKEN was set; expected HF_TOKEN set to a token/);
    const from = hub.seen.length;
    await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl, token: TOKEN });
    expectVerifiedCopy(dir);
    const seen = hub.seen.slice(from);
    expect(seen.filter((s) => s.server === "hub").every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(seen.filter((s) => s.server === "cdn")).toHaveLength(1);
    expect(seen.filter((s) => s.server === "cdn").every((s) => s.authorization === undefined)).toBe(true);
  });

  it("404s: a wrong model id, a wrong revision, a required file the repo lacks", async () => {
    const dir = join(tempDir(), "m");
    await expect(downloadModel({ modelId: "test-org/nope", revision: REV, dir, endpoint: hub.hubUrl })).rejects.toThrow(/config\.json: .* answered 404 \(RepositoryNotFound\): test-org\/nope does not exist/);
    await expect(downloadModel({ modelId: MODEL, revision: "v9", dir, endpoint: hub.hubUrl })).rejects.toThrow(/revision "v9" does not exist in test-org\/tiny-sst2/);
    await expect(downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl, files: [{ name: "pytorch_model.bin", required: true }] })).rejects.toThrow(/pytorch_model\.bin: .* answered 404: the file is not in test-org\/tiny-sst2/);
  });

  it("a server that sends no hash is refused rather than trusted", async () => {
    hub.mode.noHash = true;
    await expect(downloadModel({ modelId: MODEL, revision: REV, dir: join(tempDir(), "m"), endpoint: hub.hubUrl })).rejects.toThrow(/config\.json: .* sent no integrity hash/);
  });

  it("HF_HUB_OFFLINE: no request at all; verified files pass, a missing model fails clearly", async () => {
    const dir = join(tempDir(), "m");
    await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl });
    const before = hub.count();
    const r = await downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl, offline: true });
    expect(r.files.map((f) => f.status)).toEqual(["present", "present", "absent", "absent", "present"]);
    await expect(downloadModel({ modelId: MODEL, revision: REV, dir: join(tempDir(), "empty"), endpoint: hub.hubUrl, offline: true })).rejects.toThrow(/config\.json: HF_HUB_OFFLINE is set and this file is not downloaded and verified/);
    // A partial file is not a downloaded one.
    rmSync(join(dir, "model.safetensors"));
    writeFileSync(join(dir, "model.safetensors.incomplete"), hub.files.get("model.safetensors")!.subarray(0, 100));
    await expect(downloadModel({ modelId: MODEL, revision: REV, dir, endpoint: hub.hubUrl, offline: true })).rejects.toThrow(/model\.safetensors: HF_HUB_OFFLINE is set/);
    expect(hub.count()).toBe(before);
  });

  it("redirects: plain http to another host is refused; Authorization is dropped on a cross-origin hop", async () => {
    hub.mode.redirectTo = "http://example.invalid/lfs/x";
    await expect(downloadModel({ modelId: MODEL, revision: REV, dir: join(tempDir(), "m"), endpoint: hub.hubUrl })).rejects.toThrow(/model\.safetensors: refusing http:\/\/example\.invalid: only https is allowed/);
  });
});

describe("download input checks (before any request)", () => {
  it("model ids with .., absolute paths, backslashes, URLs or other tricks are refused", () => {
    for (const bad of ["../etc", "a/../../b", "/abs/path", "C:\\models\\x", "a\\b", "https://evil.example/x", "//evil.example/x", "a/b/c", "a/b?x=1", "a/b#f", "a%2F..", "a--b", "a/.hidden", "a/b.git", " a", "", "a/", "a/-b"]) {
      expect(() => validateModelId(bad), bad).toThrow(/^MODEL_ID: /);
    }
    for (const good of [DEFAULT_MODEL_ID, "bert-base-uncased", "org_1/model.v2", "A/B"]) expect(validateModelId(good)).toBe(good);
    for (const bad of ["../x", "a//b", "/main", "main/", "a b", "a\\b", "x?y"]) expect(() => validateRevision(bad), bad).toThrow(/^--revision: /);
    expect(validateRevision("refs/pr/1")).toBe("refs/pr/1");
  });

  it("only https endpoints, except 127.0.0.1 and localhost; no credentials in the URL", () => {
    expect(parseEndpoint(undefined).href).toBe("https://huggingface.co/");
    expect(parseEndpoint("https://hf-mirror.example/prefix/").href).toBe("https://hf-mirror.example/prefix");
    expect(parseEndpoint("http://127.0.0.1:8080").host).toBe("127.0.0.1:8080");
    expect(parseEndpoint("http://localhost:8080").host).toBe("localhost:8080");
    expect(() => parseEndpoint("http://example.com")).toThrow(/only https is allowed/);
    expect(() => parseEndpoint("ftp://example.com")).toThrow(/only https is allowed/);
    expect(() => parseEndpoint("https://user:pw@example.com")).toThrow(/user name or password/);
  });

  it("ETag parsing: quoted or weak, sha256 or git sha1; anything else is no hash", () => {
    expect(parseEtag(`"${"a".repeat(64)}"`)).toEqual({ algo: "sha256", hex: "a".repeat(64) });
    expect(parseEtag(`W/"${"B".repeat(40)}"`)).toEqual({ algo: "git-sha1", hex: "b".repeat(40) });
    expect(parseEtag(`"${"c".repeat(32)}"`)).toBeUndefined();
    expect(parseEtag(undefined)).toBeUndefined();
  });

  it("model folders: --dir, else DISTILBERT_TS_HOME/models/<owner>--<name>/<revision>, else a cache in the home folder", () => {
    expect(modelDirFor(MODEL, REV, { DISTILBERT_TS_HOME: "/data/dbt" })).toBe(`/data/dbt/models/test-org--tiny-sst2/${REV}`);
    expect(modelDirFor(MODEL, "refs/pr/1", { DISTILBERT_TS_HOME: "/data/dbt" })).toBe("/data/dbt/models/test-org--tiny-sst2/refs%2Fpr%2F1");
    expect(defaultModelDir({ HOME: "/home/u" })).toBe(`/home/u/.cache/distilbert-ts/models/distilbert--distilbert-base-uncased-finetuned-sst-2-english/${DEFAULT_REVISION}`);
    expect(defaultModelDir({ HOME: "/home/u", XDG_CACHE_HOME: "/xdg" })).toMatch(/^\/xdg\/distilbert-ts\/models\//);
  });
});

describe("download CLI", () => {
  it("fetches the default model into DISTILBERT_TS_HOME; classify then needs no --model; the token never shows", async () => {
    const home = tempDir();
    const env = { HF_ENDPOINT: hub.hubUrl, DISTILBERT_TS_HOME: home, HF_TOKEN: TOKEN };
    const before = await cli(["classify", "hello world"], env);
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/^error: .*no --model DIR was given and the default model is not downloaded here; expected .*`npx distilbert-ts download`/);

    hub.mode.requireToken = true;
    const r = await cli(["download"], env);
    expect(r.stderr).not.toContain(TOKEN);
    expect(r.code, r.stderr).toBe(0);
    const dir = modelDirFor(DEFAULT_MODEL_ID, DEFAULT_REVISION, { DISTILBERT_TS_HOME: home });
    expect(r.stdout).toBe(dir + "\n");
    // Not a terminal: one line as each file starts and one as it ends, no progress bar.
    expect(r.stderr).toMatch(/^model\.safetensors: downloading 4\.0 MB$/m);
    expect(r.stderr).toMatch(/^model\.safetensors: 4\.0 MB in \d+:\d\d.*, sha256 verified$/m);
    expect(r.stderr).toMatch(/^tokenizer\.json: not in this model \(optional\), skipped$/m);
    expect(r.stderr).not.toContain("\r");
    expectVerifiedCopy(dir);

    const viaDefault = await cli(["classify", "--json", "hello world"], env);
    const viaFixture = await cli(["classify", "--json", "--model", tinyDir(), "hello world"], {});
    expect(viaDefault.code, viaDefault.stderr).toBe(0);
    expect(viaDefault.stdout).toBe(viaFixture.stdout);

    const quiet = await cli(["download", "--quiet"], env);
    expect(quiet).toEqual({ code: 0, stdout: dir + "\n", stderr: "" });
  });

  it("errors are one line with exit 2, and never print the token (not even with --debug)", async () => {
    hub.mode.requireToken = true;
    const dir = join(tempDir(), "m");
    const wrong = "hf_WRONGtoken999";
    const r = await cli(["download", MODEL, "--revision", REV, "--dir", dir, "--debug"], { HF_ENDPOINT: hub.hubUrl, HF_TOKEN: wrong });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: config\.json: .*answered 401 .*HF_TOKEN cannot read it/m);
    expect(r.stderr.match(/^error: /gm)).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    hub.mode = { requireToken: true, cutAfter: 1000 };
    const cut = await cli(["download", MODEL, "--revision", REV, "--dir", dir, "--debug"], { HF_ENDPOINT: hub.hubUrl, HF_TOKEN: TOKEN });
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(/^error: model\.safetensors: the (transfer broke|connection closed) after/m);
    expect(cut.stdout + cut.stderr).not.toContain(TOKEN);
    // A partial download is never loaded as a model, and the error gives the command that finishes it.
    const use = await cli(["classify", "--model", dir, "x"], {});
    expect(use.code).toBe(2);
    expect(use.stderr).toBe(`error: ${dir}: holds an unfinished download of ${MODEL}; expected the download completed: distilbert-ts download ${MODEL} --revision ${REV} --dir ${JSON.stringify(dir)}\n`);
    // Without the manifest, the folder still has no *.safetensors: only model.safetensors.incomplete.
    rmSync(join(dir, MANIFEST));
    const bare = await cli(["classify", "--model", dir, "x"], {});
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/model\.safetensors: is missing/);
  });

  it("bad ids, bad endpoints and HF_HUB_OFFLINE fail before any request, with usage errors exiting 2", async () => {
    const before = hub.count();
    const dir = join(tempDir(), "m");
    for (const id of ["../../etc/passwd", "/abs", "https://evil.example/x", "a\\b"]) {
      const r = await cli(["download", id, "--dir", dir], { HF_ENDPOINT: hub.hubUrl });
      expect(r.code, id).toBe(2);
      expect(r.stderr, id).toMatch(/^error: MODEL_ID: /);
    }
    const http = await cli(["download", MODEL, "--dir", dir], { HF_ENDPOINT: "http://example.com" });
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/^error: HF_ENDPOINT: refusing http:\/\/example\.com/);
    const offline = await cli(["download", MODEL, "--dir", dir], { HF_ENDPOINT: hub.hubUrl, HF_HUB_OFFLINE: "1" });
    expect(offline.code).toBe(2);
    expect(offline.stderr).toMatch(/HF_HUB_OFFLINE is set/);
    const flag = await cli(["download", "--bogus"], {});
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^error: download: unknown option --bogus;[\s\S]*usage: distilbert-ts download/);
    const two = await cli(["download", "a/b", "c/d"], {});
    expect(two.code).toBe(2);
    expect(hub.count()).toBe(before);
  });

  it("a repo with only pytorch_model.bin: refused by name, with how to convert it (and nothing kept as a model)", async () => {
    const st = hub.files.get("model.safetensors")!;
    hub.files.delete("model.safetensors");
    hub.files.set("pytorch_model.bin", Buffer.from("PK\x03\x04 not really a pickle"));
    try {
      const dir = join(tempDir(), "m");
      const r = await cli(["download", MODEL, "--revision", REV, "--dir", dir, "--quiet"], { HF_ENDPOINT: hub.hubUrl });
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^error: model\\.safetensors: ${MODEL} at revision ${REV} has only pytorch_model\\.bin; distilbert-ts reads only safetensors checkpoints`));
      expect(lines[0]).toContain(`M.from_pretrained(m, revision='${REV}').save_pretrained(d)`);
      expect(lines[0]).toMatch(/then use --model model-dir$/);
      expect(await isDownloadComplete(dir)).toBe(false);
      // Without pytorch_model.bin either, the plain 404 stays.
      hub.files.delete("pytorch_model.bin");
      const none = await cli(["download", MODEL, "--revision", REV, "--dir", dir, "--quiet"], { HF_ENDPOINT: hub.hubUrl });
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/model\.safetensors: .* answered 404: the file is not in/);
    } finally {
      hub.files.delete("pytorch_model.bin");
      hub.files.set("model.safetensors", st);
    }
  });

  it("loadDefaultModel (distilbert-ts/node) downloads the default model once into the CLI's folder, then loads it", async () => {
    const home = tempDir();
    const env = { DISTILBERT_TS_HOME: home, HF_ENDPOINT: hub.hubUrl };
    const { loadDefaultModel } = await import("../src/node/default-model.js");
    const model = await loadDefaultModel({ env });
    expectVerifiedCopy(defaultModelDir(env));
    const before = hub.count();
    const again = await loadDefaultModel({ env });
    expect(hub.count()).toBe(before);
    const [a, b] = [await model.classify("a fine film"), await again.classify("a fine film")];
    expect(b).toEqual(a);
    // The CLI, given the same home, uses the same folder (and the same default backend: equal results).
    const r = await cli(["classify", "--json", "a fine film"], { DISTILBERT_TS_HOME: home });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).scores).toEqual(a.scores);
  });
});
