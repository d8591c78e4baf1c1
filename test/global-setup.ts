/**
 * Tests that run the CLI or other runtimes use the compiled dist/, so build it once before any test: a stale dist/
 * would test yesterday's code.
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function setup(): void {
  // A nested run (Node 24 re-running the kernel tests from inside this suite) must not rebuild dist/ under the
  // feet of the outer run's subprocesses.
  if (process.env.DISTILBERT_TS_SKIP_BUILD === "1") return;
  const root = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
  execFileSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  execFileSync(process.execPath, [resolve(root, "scripts/postbuild.mjs")], { cwd: root, stdio: "inherit" });
  // The browser bundle (and its size line in the CI log): the browser, workerd and vm runtime tests load it.
  execFileSync(process.execPath, [resolve(root, "scripts/bundle.mjs")], { cwd: root, stdio: "inherit" });
}
