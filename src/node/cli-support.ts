/** What every CLI command shares: argument parsing, I/O handles, model loading and line reading. */
import { availableParallelism } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { FileError, UsageError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { isDownloadComplete, readManifest } from "./download.js";
import { writeWithBackpressure } from "./formats/output.js";
import { defaultModelDir } from "./home.js";
import { loadModelFromDir } from "./model-dir.js";
import { closestNames, didYouMean } from "../suggest.js";

export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
  /** Whether stdout/stderr are terminals (progress bars only then). */
  isTTY: boolean;
}

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** Usage lines, printed by --help and after a usage error. */
  usage: string;
  options: Options;
  /** Whether free arguments (e.g. TEXT) are accepted. */
  positionals?: boolean;
  run(values: Values, positionals: string[], io: CliIO): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  debug: { type: "boolean" },
  // Read by loadCliModel: scan every weight for NaN/Inf and refuse the model if any (one pass over the weights).
  "check-weights": { type: "boolean" },
};

/** Options of every command that loads a model (read by loadCliModel). */
export const MODEL_OPTIONS: Options = {
  dtype: { type: "string" },
  threads: { type: "string" },
};

/** Usage lines of MODEL_OPTIONS, appended to those commands' usage. */
export const MODEL_USAGE = [
  "  --dtype D         f32, q8 or auto (default: q8 for a quantized folder, else f32); q8 quantizes an f32/f16/bf16",
  "                    model at load (int8 weights and activations: a quarter of the memory, faster; docs/quantization.md)",
  "  --threads N       threads for the matrix products (default: this machine's cores, at most 8)",
].join("\n");

/** The default --threads: the cores this process may use, at most 8 (more rarely pays on one product). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}


/** The --help lines for COMMON_OPTIONS, shown under every command's usage. */
export const COMMON_HELP = [
  "common options:",
  "  --check-weights  scan every weight for NaN/Inf when the model loads, and refuse a model that has any",
  "  --debug          print the stack trace of an error",
  "  -h, --help       this help",
].join("\n");

export function parseCommandArgs(cmd: Command, argv: string[]): { values: Values; positionals: string[] } {
  const options = { ...COMMON_OPTIONS, ...cmd.options };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw unknownOption(cmd, argv, err.message);
    // node:util's other messages already name the flag ("Option '--model <value>' argument missing").
    throw new UsageError(cmd.name, err.message.split(". To specify")[0].replace(/\.$/, ""));
  }
  if (!cmd.positionals && parsed.positionals.length > 0) {
    throw new UsageError(cmd.name, `unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

/**
 * An unknown flag: the closest known flags when it looks like a typo (`--modle`), else, for commands that take
 * texts, how to pass a text that starts with "-" (`classify -- "-5 stars"`), which node:util would say in its own words.
 */
function unknownOption(cmd: Command, argv: string[], message: string): UsageError {
  const flag = /Unknown option '([^']*)'/.exec(message)?.[1] ?? "?";
  const names = Object.keys({ ...COMMON_OPTIONS, ...cmd.options });
  const bare = flag.replace(/^-+/, "").split("=")[0];
  const close = /^--[A-Za-z]/.test(flag) ? closestNames(bare, names) : [];
  const arg = argv.find((a) => a === flag || a.startsWith(flag)) ?? flag;
  if (close.length > 0) {
    return new UsageError(cmd.name, `unknown option ${flag}${didYouMean(bare, names, (n) => `--${n}`)}`);
  }
  // "-5 stars", "-x": more likely a text than a flag (a mistyped long flag is answered with the list below).
  if (cmd.positionals && !/^--[A-Za-z][\w-]*(=.*)?$/.test(arg)) {
    return new UsageError(cmd.name, `unknown option ${JSON.stringify(arg)}`, `a known option, or a text that starts with "-" put after "--": distilbert-ts ${cmd.name} -- ${JSON.stringify(arg)}`);
  }
  return new UsageError(cmd.name, `unknown option ${flag}`, `one of ${names.map((n) => `--${n}`).join(", ")}`);
}

export function stringOpt(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** --model DIR, or the default model folder (see resolveModelDir). */
export async function loadCliModel(values: Values, io: CliIO): Promise<DistilBertClassifier> {
  const dir = await resolveModelDir(stringOpt(values, "model"), io);
  const dtype = stringOpt(values, "dtype") ?? "auto";
  if (dtype !== "auto" && dtype !== "f32" && dtype !== "q8") throw new UsageError("--dtype", `is ${JSON.stringify(dtype)}`, "f32, q8 or auto");
  const t = stringOpt(values, "threads");
  const threads = t === undefined ? defaultThreads() : Number(t);
  if (t !== undefined && !(/^[0-9]+$/.test(t) && threads >= 1 && threads <= 256)) throw new UsageError("--threads", `is ${JSON.stringify(t)}`, "an integer from 1 to 256");
  return loadModelFromDir(dir, { checkWeights: values["check-weights"] === true, dtype, threads });
}

/**
 * --model DIR, else the default model as `distilbert-ts download` left it (home.ts says where). A folder counts only
 * once its download completed and verified, so an interrupted download is never loaded as a model.
 */
export async function resolveModelDir(model: string | undefined, io: CliIO): Promise<string> {
  if (model !== undefined) {
    // A folder `download` is still filling (or gave up on) is not a model yet, even if some files are there.
    const m = await readManifest(model);
    if (m !== undefined && m.complete !== true) {
      throw new FileError(model, `holds an unfinished download of ${m.model_id}`, `the download completed: distilbert-ts download ${m.model_id} --revision ${m.revision} --dir ${JSON.stringify(model)}`);
    }
    return model;
  }
  const dir = defaultModelDir(io.env);
  if (await isDownloadComplete(dir)) return dir;
  throw new FileError(dir, "no --model DIR was given and the default model is not downloaded here", "the model fetched once with `npx distilbert-ts download` (then run this command again), or --model DIR");
}

/** Lines of a stream as they arrive (no buffering of the whole input), without their line endings. */
export async function* readLines(input: Readable): AsyncGenerator<string> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

export function writeLine(out: Writable, line: string): Promise<void> {
  return writeWithBackpressure(out, line + "\n");
}
