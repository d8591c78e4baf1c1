import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A maker of fresh temporary folders named `distilbert-ts-<name>-…`, all removed after the test file's tests.
 * Call it once at a test file's top level (it registers the afterAll there).
 */
export function tempDirs(name: string): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(join(tmpdir(), `distilbert-ts-${name}-`));
    dirs.push(d);
    return d;
  };
}
