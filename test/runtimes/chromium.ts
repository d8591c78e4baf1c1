/**
 * Headless Chromium for the browser tests: Debian's `chromium` (CHROMIUM_PATH overrides), driven by playwright-core
 * through executablePath (Playwright never downloads a browser here), with a fresh profile directory per launch.
 */
import { execFileSync } from "node:child_process";
import { chromium, type BrowserContext } from "playwright-core";
import { available, tempDir } from "./helpers.js";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The browser binary, or null (skip) when absent outside CI. */
export function chromiumPath(): string | null {
  return available(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", "chromium (Debian package; CHROMIUM_PATH overrides)");
}

export function chromiumVersion(bin: string): string {
  // Debian's /usr/bin/chromium is a shell wrapper that may print shell noise on stderr; the version is on stdout.
  return execFileSync(bin, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context on a fresh --user-data-dir (Playwright passes it as userDataDir), removed on close. */
export async function launchChromium(bin: string): Promise<Chromium> {
  const profile = tempDir("chromium-profile");
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: bin,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 860 },
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close();
      profile.cleanup();
    },
  };
}
