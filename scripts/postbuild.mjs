// After tsc: make the CLI executable, so `npx distilbert-ts` and the installed bin run it directly.
import { chmodSync, existsSync } from "node:fs";

const cli = new URL("../dist/node/cli.js", import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
