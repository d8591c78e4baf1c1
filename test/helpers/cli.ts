/** Runs the built CLI (dist/node/cli.js, built by the global setup) as a user would. */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./shared.js";

export const CLI = join(repoRoot, "dist/node/cli.js");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { input?: string | Buffer; env?: Record<string, string>; cwd?: string } = {}): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: options.input ?? "",
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI with a live stdin, for tests of line-by-line streaming. */
export function startCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let buffer = "";
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    buffer += d;
    waiters.splice(0).forEach((w) => w());
  });
  return {
    child,
    write: (s: string) => child.stdin.write(s),
    end: () => child.stdin.end(),
    /** Resolves with the next complete line of stdout. */
    async nextLine(): Promise<string> {
      while (!buffer.includes("\n")) await new Promise<void>((r) => waiters.push(r));
      const i = buffer.indexOf("\n");
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      return line;
    },
    exited: new Promise<number>((r) => child.on("close", (code) => r(code ?? -1))),
  };
}
