import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file lives in test/helpers/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const SHARED = resolve(repoRoot, "../shared");

/**
 * The shared fixtures/tools directory next to the repository, or null when it is absent so that local runs can skip
 * the tests that need it. Under CI a missing directory is a setup error, not a reason to skip silently.
 */
export function sharedDir(): string | null {
  if (existsSync(SHARED)) return SHARED;
  if (process.env.CI) throw new Error(`shared directory ${SHARED} is missing (required when CI is set)`);
  return null;
}

/** The shared directory; throws when it is absent (use in tests that cannot run without it). */
export function requireShared(): string {
  const dir = sharedDir();
  if (dir === null) throw new Error(`shared directory ${SHARED} is missing`);
  return dir;
}
