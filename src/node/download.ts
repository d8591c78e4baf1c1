/**
 * Fetch a model folder from the Hugging Face Hub (or a mirror) the way huggingface_hub does, with node:http(s) only:
 * `{endpoint}/{model_id}/resolve/{revision}/{file}`, a 302 to a CDN for large (LFS) files, `X-Linked-Etag` (sha256)
 * or `ETag` (git blob sha1) as the integrity check, `HF_TOKEN` as a bearer token that never leaves the Hub's origin.
 *
 * Every file is streamed to `<file>.incomplete` while it is hashed, renamed into place only once the hash matches,
 * and recorded in `.download.json`; so a file without `.incomplete` in its name is always a verified one, and an
 * interrupted transfer resumes with an HTTP Range request (the part on disk is hashed first).
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DistilBertError, InputError } from "../errors.js";

/** A download that failed: network, HTTP status, integrity, or the offline cache. */
export class DownloadError extends DistilBertError {}

export interface HubFile {
  name: string;
  /** Required files fail the download when the Hub does not have them; optional ones (404) are skipped. */
  required: boolean;
}

/** What a model folder needs. vocab.txt may be missing when tokenizer.json is there (checked after the fetch). */
export const MODEL_FILES: readonly HubFile[] = [
  { name: "config.json", required: true },
  { name: "vocab.txt", required: false },
  { name: "tokenizer.json", required: false },
  { name: "tokenizer_config.json", required: false },
  // Last: the big one, so that a wrong id or a missing token fails before 268 MB move.
  { name: "model.safetensors", required: true },
];

export const MANIFEST = ".download.json";
export const DEFAULT_ENDPOINT = "https://huggingface.co";
const MAX_REDIRECTS = 5;

/** The hash a file must have: sha256 (LFS files, X-Linked-Etag) or git's blob sha1 (small files, ETag). */
export interface ExpectedHash {
  algo: "sha256" | "git-sha1";
  hex: string;
}

export function hashLabel(h: ExpectedHash): string {
  return `${h.algo}:${h.hex}`;
}

function parseHashLabel(s: unknown): ExpectedHash | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^(sha256|git-sha1):([0-9a-f]+)$/.exec(s);
  return m ? { algo: m[1] as ExpectedHash["algo"], hex: m[2] } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Validation: everything that ends up in a URL or a path is checked before any request.

const ID_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
const EXAMPLE_ID = "owner/name, e.g. distilbert/distilbert-base-uncased-finetuned-sst-2-english";

/**
 * A Hub model id: "owner/name" or a legacy "name", as huggingface_hub's validate_repo_id accepts them. Refuses what
 * could escape the URL path or the cache folder: "..", absolute paths, backslashes, URLs, query strings, "--".
 */
export function validateModelId(id: unknown): string {
  const where = "MODEL_ID";
  if (typeof id !== "string" || id === "") throw new InputError(where, "is empty", EXAMPLE_ID);
  const show = JSON.stringify(id);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(id) || id.startsWith("//")) {
    throw new InputError(where, `${show} looks like a URL`, `a model id (${EXAMPLE_ID}); set HF_ENDPOINT to use another server`);
  }
  if (id.startsWith("/") || /^[A-Za-z]:/.test(id)) throw new InputError(where, `${show} is an absolute path`, `a model id (${EXAMPLE_ID}); a local folder is used with --model DIR`);
  if (id.includes("\\")) throw new InputError(where, `${show} contains a backslash`, EXAMPLE_ID);
  if (id.includes("..")) throw new InputError(where, `${show} contains ".."`, EXAMPLE_ID);
  if (id.includes("--")) throw new InputError(where, `${show} contains "--"`, `${EXAMPLE_ID} (the Hub does not allow "--" in ids)`);
  const parts = id.split("/");
  if (parts.length > 2) throw new InputError(where, `${show} has more than one "/"`, EXAMPLE_ID);
  for (const p of parts) {
    if (!ID_PART.test(p)) throw new InputError(where, `${show}: part ${JSON.stringify(p)} is not a valid name`, `letters, digits, "_", "." and "-", not starting or ending with "." or "-", at most 96 characters (${EXAMPLE_ID})`);
  }
  if (id.endsWith(".git")) throw new InputError(where, `${show} ends with ".git"`, EXAMPLE_ID);
  return id;
}

/** A commit sha, branch or tag ("main", "v1.0", "refs/pr/1"); it is percent-encoded into one URL segment. */
export function validateRevision(rev: unknown): string {
  const where = "--revision";
  if (typeof rev !== "string" || rev === "") throw new InputError(where, "is empty", "a commit sha, branch or tag");
  const show = JSON.stringify(rev);
  if (rev.length > 255) throw new InputError(where, `is ${rev.length} characters long`, "at most 255");
  if (!/^[A-Za-z0-9_.\/-]+$/.test(rev)) throw new InputError(where, `${show} has characters a revision cannot have`, "letters, digits, \"_\", \".\", \"-\" and \"/\"");
  if (rev.includes("..") || rev.startsWith("/") || rev.endsWith("/") || rev.includes("//")) {
    throw new InputError(where, `${show} is not a valid revision name`, "a commit sha, branch or tag");
  }
  return rev;
}

export function isCommitSha(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}

function isLoopback(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
}

/** Only https leaves the machine; plain http is allowed for a server on this machine (tests, local mirrors). */
function checkUrlAllowed(url: URL, where: string): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && isLoopback(url)) return;
  throw new DownloadError(where, `refusing ${url.protocol}//${url.host}: only https is allowed (plain http only to 127.0.0.1 or localhost)`, "an https URL");
}

/** HF_ENDPOINT (default https://huggingface.co), without a trailing slash. */
export function parseEndpoint(value: string | undefined): URL {
  const raw = value === undefined || value.trim() === "" ? DEFAULT_ENDPOINT : value.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError("HF_ENDPOINT", `${JSON.stringify(raw)} is not a URL`, "e.g. https://huggingface.co");
  }
  if (url.username !== "" || url.password !== "") throw new InputError("HF_ENDPOINT", "contains a user name or password", "a URL without credentials (use HF_TOKEN for the token)");
  if (url.search !== "" || url.hash !== "") throw new InputError("HF_ENDPOINT", `${JSON.stringify(raw)} has a query or fragment`, "a plain base URL such as https://huggingface.co");
  checkUrlAllowed(url, "HF_ENDPOINT");
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

export function resolveUrl(endpoint: URL, modelId: string, revision: string, file: string): URL {
  const base = endpoint.href.replace(/\/+$/, "");
  return new URL(`${base}/${modelId}/resolve/${encodeURIComponent(revision)}/${file}`);
}

/** A URL fit for a message: no query (CDN URLs carry signatures), no credentials. */
function showUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function checkToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const t = token.trim();
  if (t === "") return undefined;
  // Never echo the token: say what is wrong with it, not what it is.
  if (!/^[\x21-\x7e]+$/.test(t)) throw new InputError("HF_TOKEN", "contains spaces or characters a token cannot have", "a Hugging Face access token (hf_…)");
  return t;
}

/** huggingface_hub's reading of boolean environment variables. */
export function envFlag(v: string | undefined): boolean {
  return v !== undefined && ["1", "on", "yes", "true"].includes(v.trim().toLowerCase());
}

/** `"<64 hex>"` → sha256, `"<40 hex>"` → git blob sha1; weak markers and quotes removed; anything else is unknown. */
export function parseEtag(value: string | string[] | undefined): ExpectedHash | undefined {
  if (value === undefined) return undefined;
  const v = (Array.isArray(value) ? value[0] : value).trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1").toLowerCase();
  if (/^[0-9a-f]{64}$/.test(v)) return { algo: "sha256", hex: v };
  if (/^[0-9a-f]{40}$/.test(v)) return { algo: "git-sha1", hex: v };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Hashing

function newHasher(expected: ExpectedHash, totalSize: number): Hash {
  if (expected.algo === "sha256") return createHash("sha256");
  // git's blob id: sha1 over "blob <size>\0" and then the content.
  const h = createHash("sha1");
  h.update(`blob ${totalSize}\0`);
  return h;
}

/** Hash a file on disk (or its first `length` bytes) into `hash`. */
async function hashFileInto(path: string, hash: Hash, length?: number): Promise<number> {
  let n = 0;
  const stream = createReadStream(path, length === undefined ? {} : { end: length - 1 });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return n;
}

/** Whether the file at `path` has exactly the expected hash. */
export async function verifyFile(path: string, expected: ExpectedHash): Promise<boolean> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) return false;
    size = st.size;
  } catch {
    return false;
  }
  const h = newHasher(expected, size);
  await hashFileInto(path, h);
  return h.digest("hex") === expected.hex;
}

// ---------------------------------------------------------------------------------------------------------------------
// The manifest: which files of a folder were verified, against which hash, for which model and revision.

export interface ManifestEntry {
  size: number;
  hash: string;
}

export interface Manifest {
  format: 1;
  model_id: string;
  revision: string;
  /** The commit the Hub resolved the revision to (X-Repo-Commit), when it said. */
  commit?: string;
  files: Record<string, ManifestEntry>;
  /** Optional files the Hub does not have at this revision. */
  absent: string[];
  /** True once every required file is verified. */
  complete: boolean;
}

export async function readManifest(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), "utf8");
  } catch {
    return undefined;
  }
  try {
    const m = JSON.parse(text) as Manifest;
    if (m === null || typeof m !== "object" || m.format !== 1 || typeof m.files !== "object" || m.files === null) return undefined;
    if (!Array.isArray(m.absent)) m.absent = [];
    return m;
  } catch {
    return undefined;
  }
}

async function writeManifest(dir: string, m: Manifest): Promise<void> {
  const path = join(dir, MANIFEST);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(m, null, 2) + "\n");
  await rename(tmp, path);
}

/**
 * Whether `dir` holds a completed download: the manifest says so and every recorded file has its recorded size.
 * (Cheap: sizes only. `download` re-hashes; this is what `classify` asks before it loads the default model.)
 */
export async function isDownloadComplete(dir: string): Promise<boolean> {
  const m = await readManifest(dir);
  if (m === undefined || m.complete !== true) return false;
  for (const [name, entry] of Object.entries(m.files)) {
    try {
      const st = await stat(join(dir, name));
      if (!st.isFile() || st.size !== entry.size) return false;
    } catch {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------------
// HTTP

interface Opened {
  res: IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
  expected: ExpectedHash | undefined;
  /** X-Linked-Size from the Hub, for LFS files. */
  linkedSize: number | undefined;
  commit: string | undefined;
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function get(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.get(url, { headers, timeout: timeoutMs }, resolve);
    req.on("timeout", () => req.destroy(Object.assign(new Error(`no data for ${timeoutMs / 1000} s`), { code: "ETIMEDOUT" })));
    req.on("error", reject);
  });
}

function errCode(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message ?? String(e);
}

/**
 * GET `url`, following up to 5 redirects by hand: the Hub's answer carries the hash (X-Linked-Etag) on the 302 itself,
 * and Authorization must be dropped as soon as a redirect leaves the Hub's origin (the CDN must never see the token).
 */
async function open(url: URL, token: string | undefined, rangeStart: number, timeoutMs: number, file: string, haveAlready: (e: ExpectedHash) => Promise<boolean>): Promise<Opened | { have: ExpectedHash }> {
  let current = url;
  let sendToken = token !== undefined;
  let expected: ExpectedHash | undefined;
  let linkedSize: number | undefined;
  let commit: string | undefined;
  for (let hop = 0; ; hop++) {
    checkUrlAllowed(current, file);
    const headers: Record<string, string> = { "user-agent": "distilbert-ts", "accept-encoding": "identity" };
    if (sendToken && token !== undefined) headers.authorization = `Bearer ${token}`;
    if (rangeStart > 0) headers.range = `bytes=${rangeStart}-`;
    let res: IncomingMessage;
    try {
      res = await get(current, headers, timeoutMs);
    } catch (e) {
      throw new DownloadError(file, `cannot reach ${showUrl(current)} (${errCode(e)})`, "network access to the Hub (or HF_HUB_OFFLINE=1 to use what is already downloaded)");
    }
    const status = res.statusCode ?? 0;
    const h = res.headers;
    expected ??= parseEtag(header(h, "x-linked-etag"));
    const ls = Number(header(h, "x-linked-size"));
    if (linkedSize === undefined && Number.isSafeInteger(ls) && ls >= 0) linkedSize = ls;
    commit ??= header(h, "x-repo-commit");
    const location = header(h, "location");
    if (status >= 300 && status < 400 && status !== 304 && location !== undefined) {
      res.resume();
      // The Hub's 302 already names the hash: a file on disk that has it needs no trip to the CDN.
      if (expected !== undefined && (await haveAlready(expected))) return { have: expected };
      if (hop >= MAX_REDIRECTS) throw new DownloadError(file, `more than ${MAX_REDIRECTS} redirects from ${showUrl(url)}`, "a Hugging Face Hub endpoint");
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new DownloadError(file, `the server redirected to an invalid URL`, "a valid Location header");
      }
      if (next.username !== "" || next.password !== "") throw new DownloadError(file, "the server redirected to a URL with credentials in it", "a plain https URL");
      // Like browsers and huggingface_hub: the token is for the Hub's origin only.
      if (next.origin !== current.origin) sendToken = false;
      current = next;
      continue;
    }
    // A plain answer from the Hub's own origin carries the hash itself; a CDN's ETag is its own business (often an MD5).
    if (expected === undefined && current.origin === url.origin) expected = parseEtag(header(h, "etag"));
    return { res, url: current, expected, linkedSize, commit };
  }
}

/** Hub error answers → one clear message; the URL is shown, the token never. */
function statusError(res: IncomingMessage, url: URL, file: string, modelId: string, revision: string, hadToken: boolean): DownloadError {
  const status = res.statusCode ?? 0;
  const code = header(res.headers, "x-error-code") ?? "";
  const at = `${showUrl(url)} answered ${status}`;
  res.resume();
  if (code === "GatedRepo") return new DownloadError(file, `${at}: ${modelId} is a gated model`, "access granted on its Hub page and HF_TOKEN set to a token of that account");
  if (status === 401 || status === 403 || code === "RepositoryNotFound") {
    return new DownloadError(file, `${at}${code ? ` (${code})` : ""}: ${modelId} does not exist, or is private and ${hadToken ? "HF_TOKEN cannot read it" : "no HF_TOKEN was set"}`, hadToken ? "a token (HF_TOKEN) with read access to the model" : "HF_TOKEN set to a token that can read the model (a private or gated model needs one)");
  }
  if (code === "RevisionNotFound") return new DownloadError(file, `${at}: revision ${JSON.stringify(revision)} does not exist in ${modelId}`, "an existing commit sha, branch or tag");
  if (status === 404) return new DownloadError(file, `${at}: the file is not in ${modelId} at revision ${revision}`, "a model repo with config.json, model.safetensors and vocab.txt");
  if (status === 429) return new DownloadError(file, `${at} (rate limited)`, "a retry in a few minutes (HF_TOKEN raises the limit)");
  return new DownloadError(file, at, status >= 500 ? "a working server; try again later" : "200, 206 or a redirect");
}

// ---------------------------------------------------------------------------------------------------------------------
// The download itself

export type DownloadEvent =
  | { type: "start"; file: string; total: number | undefined; resumedFrom: number }
  | { type: "progress"; file: string; received: number; total: number | undefined; resumedFrom: number; elapsedMs: number }
  | { type: "done"; file: string; size: number; hash: string; elapsedMs: number; resumedFrom: number }
  | { type: "skip"; file: string; reason: "verified" | "absent" };

export interface DownloadOptions {
  modelId: string;
  revision: string;
  /** The model folder to fill. */
  dir: string;
  /** HF_ENDPOINT; default https://huggingface.co. */
  endpoint?: string;
  /** HF_TOKEN: sent as `Authorization: Bearer …` to the endpoint's origin only. */
  token?: string;
  /** HF_HUB_OFFLINE: no request at all; succeed only if every file is already verified. */
  offline?: boolean;
  /** Seconds without data before a request fails; default 60. */
  timeoutSeconds?: number;
  files?: readonly HubFile[];
  onEvent?: (e: DownloadEvent) => void;
}

export interface FileResult {
  name: string;
  status: "downloaded" | "resumed" | "present" | "absent";
  size?: number;
  hash?: string;
}

export interface DownloadResult {
  dir: string;
  modelId: string;
  revision: string;
  files: FileResult[];
}

export async function downloadModel(options: DownloadOptions): Promise<DownloadResult> {
  const modelId = validateModelId(options.modelId);
  const revision = validateRevision(options.revision);
  const endpoint = parseEndpoint(options.endpoint);
  const token = checkToken(options.token);
  const files = options.files ?? MODEL_FILES;
  const { dir } = options;
  const emit = options.onEvent ?? (() => {});
  const timeoutMs = (options.timeoutSeconds ?? 60) * 1000;

  const old = await readManifest(dir);
  const sameModel = old !== undefined && old.model_id === modelId && old.revision === revision;
  // A complete folder stays complete while it is re-checked; it stops being complete only when a file is replaced.
  const manifest: Manifest = sameModel
    ? { ...old, files: { ...old.files }, absent: [...old.absent], complete: old.complete === true }
    : { format: 1, model_id: modelId, revision, files: {}, absent: [], complete: false };
  const results: FileResult[] = [];

  if (options.offline) {
    for (const f of files) {
      const entry = sameModel ? manifest.files[f.name] : undefined;
      const expected = parseHashLabel(entry?.hash);
      if (entry !== undefined && expected !== undefined && (await verifyFile(join(dir, f.name), expected))) {
        results.push({ name: f.name, status: "present", size: entry.size, hash: entry.hash });
        emit({ type: "skip", file: f.name, reason: "verified" });
      } else if (!f.required && sameModel && manifest.absent.includes(f.name)) {
        results.push({ name: f.name, status: "absent" });
        emit({ type: "skip", file: f.name, reason: "absent" });
      } else if (f.required || (entry !== undefined)) {
        throw new DownloadError(join(dir, f.name), `HF_HUB_OFFLINE is set and this file is not downloaded and verified for ${modelId} at ${revision}`, "the model downloaded once with network access (unset HF_HUB_OFFLINE and run the same command)");
      } else {
        results.push({ name: f.name, status: "absent" });
      }
    }
    checkTokenizer(results, dir);
    return { dir, modelId, revision, files: results };
  }

  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new DownloadError(dir, `cannot create the model folder (${errCode(e)})`, "a writable folder (--dir DIR or DISTILBERT_TS_HOME)");
  }
  if (!sameModel) {
    // The folder held another model (or revision) that we downloaded: clear its files first, so that a download
    // that fails halfway cannot leave one model's config next to another's weights.
    for (const name of Object.keys(old?.files ?? {})) {
      if (files.some((f) => f.name === name)) await rm(join(dir, name), { force: true });
    }
    await writeManifest(dir, manifest);
  }

  for (const f of files) {
    const r = await fetchOne({ modelId, revision, endpoint, token, dir, file: f, manifest, sameModel, timeoutMs, emit });
    results.push(r);
    if (r.status === "absent") {
      delete manifest.files[f.name];
      if (!manifest.absent.includes(f.name)) manifest.absent.push(f.name);
    } else {
      manifest.files[f.name] = { size: r.size!, hash: r.hash! };
      manifest.absent = manifest.absent.filter((n) => n !== f.name);
    }
    await writeManifest(dir, manifest);
  }
  checkTokenizer(results, dir);
  manifest.complete = true;
  await writeManifest(dir, manifest);
  return { dir, modelId, revision, files: results };
}

function checkTokenizer(results: FileResult[], dir: string): void {
  const has = (n: string) => results.some((r) => r.name === n && r.status !== "absent");
  if (results.some((r) => r.name === "vocab.txt") && !has("vocab.txt") && !has("tokenizer.json")) {
    throw new DownloadError(join(dir, "vocab.txt"), "the model has neither vocab.txt nor tokenizer.json", "a BERT WordPiece tokenizer file");
  }
}

interface FetchJob {
  modelId: string;
  revision: string;
  endpoint: URL;
  token: string | undefined;
  dir: string;
  file: HubFile;
  manifest: Manifest;
  sameModel: boolean;
  timeoutMs: number;
  emit: (e: DownloadEvent) => void;
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the repo has a PyTorch pickle checkpoint (asked only once model.safetensors turned out to be missing). */
async function hasPytorchBin(job: FetchJob): Promise<boolean> {
  const url = resolveUrl(job.endpoint, job.modelId, job.revision, "pytorch_model.bin");
  try {
    const opened = await open(url, job.token, 0, job.timeoutMs, "pytorch_model.bin", async () => true);
    if ("have" in opened) return true; // the Hub's redirect named the file's hash: it exists
    opened.res.destroy();
    return opened.res.statusCode === 200;
  } catch {
    return false;
  }
}

/** What to do with a repo that only has pytorch_model.bin: convert it once, with Python, to a folder for --model. */
export function onlyPytorchBin(modelId: string, revision: string): DownloadError {
  const py = `from transformers import AutoModelForSequenceClassification as M, AutoTokenizer as T; m, d = '${modelId}', 'model-dir'; M.from_pretrained(m, revision='${revision}').save_pretrained(d); T.from_pretrained(m, revision='${revision}').save_pretrained(d)`;
  return new DownloadError(
    "model.safetensors",
    `${modelId} at revision ${revision} has only pytorch_model.bin; distilbert-ts reads only safetensors checkpoints (a .bin is a Python pickle, which can run code when loaded)`,
    `a safetensors copy: convert it once with Python (save_pretrained writes model.safetensors), python -c "${py}", then use --model model-dir`,
  );
}

async function fetchOne(job: FetchJob): Promise<FileResult> {
  const { dir, file, manifest, emit } = job;
  const name = file.name;
  const final = join(dir, name);
  const partial = `${final}.incomplete`;
  const url = resolveUrl(job.endpoint, job.modelId, job.revision, name);
  const pinned = isCommitSha(job.revision);

  // A pinned commit never changes: what the manifest verified for it needs no request, only a local re-check.
  if (pinned && job.sameModel) {
    const entry = manifest.files[name];
    const expected = parseHashLabel(entry?.hash);
    if (entry !== undefined && expected !== undefined && (await verifyFile(final, expected))) {
      emit({ type: "skip", file: name, reason: "verified" });
      return { name, status: "present", size: entry.size, hash: entry.hash };
    }
    if (!file.required && manifest.absent.includes(name)) {
      emit({ type: "skip", file: name, reason: "absent" });
      return { name, status: "absent" };
    }
  }

  for (let attempt = 0; ; attempt++) {
    let resumeFrom = (await fileSize(partial)) ?? 0;
    const opened = await open(url, job.token, resumeFrom, job.timeoutMs, name, (e) => verifyFile(final, e));
    if ("have" in opened) return keepExisting(final, partial, name, emit, opened.have);
    const { res } = opened;
    const status = res.statusCode ?? 0;
    if (opened.commit !== undefined && /^[0-9a-f]{40}$/.test(opened.commit)) manifest.commit = opened.commit;
    if (status === 404 && !file.required && (header(res.headers, "x-error-code") ?? "EntryNotFound") === "EntryNotFound") {
      res.resume();
      // A copy left by another model or revision in this folder must not pass for this model's file.
      await rm(final, { force: true });
      await rm(partial, { force: true });
      emit({ type: "skip", file: name, reason: "absent" });
      return { name, status: "absent" };
    }
    if (status === 416 && resumeFrom > 0 && attempt === 0) {
      // The part on disk is not a prefix the server can continue (e.g. the file changed): start afresh.
      res.resume();
      await rm(partial, { force: true });
      continue;
    }
    if (status === 404 && name === "model.safetensors" && (header(res.headers, "x-error-code") ?? "EntryNotFound") === "EntryNotFound") {
      res.resume();
      if (await hasPytorchBin(job)) throw onlyPytorchBin(job.modelId, job.revision);
    }
    if (status !== 200 && status !== 206) throw statusError(res, url, name, job.modelId, job.revision, job.token !== undefined);
    const expected = opened.expected;
    if (expected === undefined) {
      res.destroy();
      throw new DownloadError(name, `${showUrl(url)} sent no integrity hash (X-Linked-Etag or ETag with a sha256 or git sha1)`, "a Hugging Face Hub endpoint (the file cannot be verified, so it is not used)");
    }

    // Already there and matching what the Hub says now: keep it.
    if (await verifyFile(final, expected)) {
      res.destroy();
      return keepExisting(final, partial, name, emit, expected);
    }

    let total: number | undefined;
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header(res.headers, "content-range") ?? "");
      if (m === null || Number(m[1]) !== resumeFrom) {
        res.destroy();
        throw new DownloadError(name, `the server answered the range request with Content-Range ${JSON.stringify(header(res.headers, "content-range") ?? "")}`, `bytes ${resumeFrom}-…/total`);
      }
      total = Number(m[3]);
    } else {
      // 200 to a range request: the server sends the whole file, so the part on disk is dropped.
      resumeFrom = 0;
      const cl = Number(header(res.headers, "content-length"));
      if (header(res.headers, "content-length") !== undefined && Number.isSafeInteger(cl)) total = cl;
    }
    total ??= opened.linkedSize;
    if (expected.algo === "git-sha1" && total === undefined) {
      res.destroy();
      throw new DownloadError(name, "the server sent no Content-Length for a file checked by git blob sha1", "a Content-Length header");
    }
    return await receive(job, res, expected, total, resumeFrom, partial, final);
  }
}

/** The file on disk already has the Hub's hash: keep it, drop any partial transfer. */
async function keepExisting(final: string, partial: string, name: string, emit: (e: DownloadEvent) => void, expected: ExpectedHash): Promise<FileResult> {
  await rm(partial, { force: true });
  emit({ type: "skip", file: name, reason: "verified" });
  return { name, status: "present", size: (await fileSize(final))!, hash: hashLabel(expected) };
}

async function receive(job: FetchJob, res: IncomingMessage, expected: ExpectedHash, total: number | undefined, resumeFrom: number, partial: string, final: string): Promise<FileResult> {
  const name = job.file.name;
  const hash = newHasher(expected, total ?? 0);
  if (resumeFrom > 0) {
    // The resumed file is hashed as a whole: the part already on disk first.
    const n = await hashFileInto(partial, hash, resumeFrom);
    if (n !== resumeFrom) {
      res.destroy();
      throw new DownloadError(partial, `changed while it was being read (${n} of ${resumeFrom} bytes)`, "no other process writing the model folder");
    }
  }
  const started = Date.now();
  let received = resumeFrom;
  job.emit({ type: "start", file: name, total, resumedFrom: resumeFrom });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      received += chunk.length;
      job.emit({ type: "progress", file: name, received, total, resumedFrom: resumeFrom, elapsedMs: Date.now() - started });
      done(null, chunk);
    },
  });
  const out = createWriteStream(partial, { flags: resumeFrom > 0 ? "a" : "w", flush: true });
  try {
    await pipeline(res, tap, out);
  } catch (e) {
    // pipeline rejects as soon as the source fails, while writes already handed to the file may still be landing:
    // wait until the file is closed, so that what is kept is final before anyone (a retry) measures it.
    await new Promise<void>((resolve) => (out.closed ? resolve() : out.once("close", () => resolve())));
    const of = total !== undefined ? ` of ${total}` : "";
    throw new DownloadError(name, `the transfer broke after ${received}${of} bytes (${errCode(e)}); kept ${partial}; run the same command again to resume`, "a complete transfer");
  }
  if (total !== undefined && received < total) {
    throw new DownloadError(name, `the connection closed after ${received} of ${total} bytes; kept ${partial}; run the same command again to resume`, "a complete transfer");
  }
  const digest = hash.digest("hex");
  if ((total !== undefined && received > total) || digest !== expected.hex) {
    await rm(partial, { force: true });
    const what = total !== undefined && received > total ? `${received} bytes arrived for a ${total}-byte file` : `${expected.algo} mismatch: got ${digest}, the Hub says ${expected.hex}`;
    throw new DownloadError(name, `${what}; the corrupt download was deleted`, "the file the Hub describes (run the same command again to download it afresh)");
  }
  if (job.manifest.complete) {
    // Replacing a file of a complete folder (a branch moved on): until every file is checked, it is not a model.
    job.manifest.complete = false;
    await writeManifest(job.dir, job.manifest);
  }
  try {
    await rename(partial, final);
  } catch (e) {
    throw new DownloadError(final, `cannot be put in place (${errCode(e)}); the verified download is in ${partial}`, "a writable model folder where this name is free or a file");
  }
  const label = hashLabel(expected);
  job.emit({ type: "done", file: name, size: received, hash: label, elapsedMs: Date.now() - started, resumedFrom: resumeFrom });
  return { name, status: resumeFrom > 0 ? "resumed" : "downloaded", size: received, hash: label };
}
