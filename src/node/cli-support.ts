/** What every CLI command shares: argument parsing, I/O handles, model loading and line reading. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { UsageError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { loadModelFromDir } from "./model-dir.js";

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
};

export function parseCommandArgs(cmd: Command, argv: string[]): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true });
  } catch (e) {
    // node:util's messages already name the flag ("Unknown option '--x'"); keep them, minus its advice about "--".
    const msg = (e as Error).message.split(". To specify")[0].replace(/\.$/, "");
    throw new UsageError(cmd.name, msg);
  }
  if (!cmd.positionals && parsed.positionals.length > 0) {
    throw new UsageError(cmd.name, `unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

export function stringOpt(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** --model DIR, or the default model folder (see resolveModelDir). */
export async function loadCliModel(values: Values, io: CliIO): Promise<DistilBertClassifier> {
  const dir = await resolveModelDir(stringOpt(values, "model"), io);
  return loadModelFromDir(dir);
}

/** Hook for the default model folder: without --model there is nothing to load yet. */
export async function resolveModelDir(model: string | undefined, _io: CliIO): Promise<string> {
  if (model !== undefined) return model;
  throw new UsageError("--model", "no model folder given", "--model DIR (a folder with config.json, model.safetensors and vocab.txt)");
}

/** Lines of a stream as they arrive (no buffering of the whole input), without their line endings. */
export async function* readLines(input: Readable): AsyncGenerator<string> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

export function writeLine(out: Writable, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(line + "\n")) resolve();
    else out.once("drain", resolve).once("error", reject);
  });
}
