// npm run stress: the wasm pool stress test (test/pool-stress.test.ts) for STRESS_ROUNDS rounds (default 50) of
// STRESS_SECONDS-second hammers (default 4), instead of the suite's single short round.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, STRESS_ROUNDS: process.env.STRESS_ROUNDS ?? "50", STRESS_SECONDS: process.env.STRESS_SECONDS ?? "4" };
const vitest = resolve(root, "node_modules/vitest/vitest.mjs");
const r = spawnSync(process.execPath, [vitest, "run", "test/pool-stress.test.ts", "--testTimeout", "0", ...process.argv.slice(2)], { cwd: root, env, stdio: "inherit" });
process.exit(r.status ?? 1);
