#!/usr/bin/env node
/**
 * The distilbert-ts command line. Exit codes: 0 success; 2 bad input, bad usage or a bad model (one `error:` line
 * on stderr); 1 an internal error (a bug: please report it). Stack traces only with --debug.
 */
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DistilBertError, UsageError } from "../errors.js";
import { printable } from "../printable.js";
import { didYouMean } from "../suggest.js";
import { COMMON_HELP, parseCommandArgs, type CliIO, type Command } from "./cli-support.js";
import { classifyCommand } from "./commands/classify.js";
import { attributeCommand } from "./commands/attribute.js";
import { downloadCommand } from "./commands/download.js";
import { evalCommand } from "./commands/eval.js";
import { inspectCommand } from "./commands/inspect.js";
import { patchCommand } from "./commands/patch.js";
import { probeCommand } from "./commands/probe.js";
import { qaCommand } from "./commands/qa.js";
import { quantizeCommand } from "./commands/quantize.js";
import { embedCommand, fillMaskCommand, nerCommand } from "./commands/tasks.js";
import { serveCommand } from "./commands/serve.js";
import { tokenizeCommand } from "./commands/tokenize.js";

export const commands: Command[] = [
  downloadCommand, classifyCommand, fillMaskCommand, qaCommand, nerCommand, embedCommand, evalCommand, tokenizeCommand, inspectCommand, probeCommand, serveCommand, attributeCommand, patchCommand, quantizeCommand,
];

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "usage: distilbert-ts <command> [options]",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "run `distilbert-ts <command> --help` for a command's options; `distilbert-ts --version` prints the version",
  ].join("\n");
}

/** The package's version, from the package.json beside dist/ (the same file npm installed). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const debug = argv.includes("--debug");
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(usage() + "\n");
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    io.stdout.write(`distilbert-ts ${version()}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  try {
    if (cmd === undefined) {
      const known = commands.map((c) => c.name);
      throw new UsageError("distilbert-ts", `unknown command ${JSON.stringify(name)}${didYouMean(name, known)}`, known.join(", "));
    }
    const { values, positionals } = parseCommandArgs(cmd, rest);
    if (values.help === true) {
      io.stdout.write(`usage: ${cmd.usage}\n${COMMON_HELP}\n`);
      return 0;
    }
    return await cmd.run(values, positionals, io);
  } catch (e) {
    if (e instanceof DistilBertError) {
      // printable: messages quote files and arguments, which must not add lines or terminal controls.
      io.stderr.write(`error: ${printable(e.message, Infinity)}\n`);
      if (e instanceof UsageError) io.stderr.write(cmd ? `usage: ${cmd.usage}\n` : usage() + "\n");
      if (debug) io.stderr.write(`${e.stack}\n`);
      return 2;
    }
    const err = e as Error;
    io.stderr.write(`error: internal error: ${err?.message ?? String(e)} (this is a bug in distilbert-ts; rerun with --debug for the stack)\n`);
    if (debug) io.stderr.write(`${err?.stack}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // A closed stdout (e.g. piped into `head`) is a normal way to stop, not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
  });
  const io: CliIO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, isTTY: !!process.stderr.isTTY };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
