import { resolve } from "node:path";
import { UsageError } from "../../errors.js";
import { stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { downloadModel, envFlag, parseEndpoint, validateModelId, validateRevision, type DownloadEvent } from "../download.js";
import { DEFAULT_MODEL_ID, DEFAULT_REVISION, modelDirFor } from "../home.js";
import { downloadProgressLine, formatBytes, formatDuration, StatusLine } from "../progress.js";

export const downloadCommand: Command = {
  name: "download",
  summary: "fetch a model (config.json, model.safetensors, vocab.txt) from the Hugging Face Hub, verified",
  usage: [
    "distilbert-ts download [MODEL_ID] [--revision REV] [--dir DIR] [--quiet]",
    `  MODEL_ID defaults to ${DEFAULT_MODEL_ID} at its pinned commit ${DEFAULT_REVISION.slice(0, 7)}; another id defaults to --revision main`,
    "  files go to --dir DIR, else $DISTILBERT_TS_HOME/models/<owner>--<name>/<revision>, else ~/.cache/distilbert-ts/models/…",
    "  prints the model folder on stdout; progress on stderr (--quiet: none)",
    "  env: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (private or gated models), HF_HUB_OFFLINE=1 (no network: check what is on disk)",
  ].join("\n"),
  options: { revision: { type: "string" }, dir: { type: "string" }, quiet: { type: "boolean", short: "q" } },
  positionals: true,
  async run(values: Values, positionals: string[], io: CliIO): Promise<number> {
    if (positionals.length > 1) throw new UsageError("download", `takes one MODEL_ID, got ${positionals.length}`, "distilbert-ts download [MODEL_ID]");
    const modelId = validateModelId(positionals[0] ?? DEFAULT_MODEL_ID);
    const revArg = stringOpt(values, "revision");
    const revision = validateRevision(revArg ?? (modelId === DEFAULT_MODEL_ID ? DEFAULT_REVISION : "main"));
    const dirArg = stringOpt(values, "dir");
    const dir = dirArg !== undefined ? resolve(dirArg) : modelDirFor(modelId, revision, io.env);
    const quiet = values.quiet === true;
    const offline = envFlag(io.env.HF_HUB_OFFLINE);
    // Settings are checked before the first line of progress, so a bad one gives just its error.
    parseEndpoint(io.env.HF_ENDPOINT);
    const log = (line: string) => {
      if (!quiet) io.stderr.write(line + "\n");
    };
    const status = new StatusLine(io.stderr);
    const onEvent = (e: DownloadEvent) => {
      if (quiet) return;
      switch (e.type) {
        case "skip":
          log(`${e.file}: ${e.reason === "verified" ? "already downloaded and verified" : "not in this model (optional), skipped"}`);
          break;
        case "start":
          if (!io.isTTY) log(`${e.file}: ${e.resumedFrom > 0 ? `resuming at ${formatBytes(e.resumedFrom)} of ${e.total === undefined ? "?" : formatBytes(e.total)}` : `downloading ${e.total === undefined ? "" : formatBytes(e.total)}`.trimEnd()}`);
          break;
        case "progress":
          if (io.isTTY) status.update(() => downloadProgressLine(e));
          break;
        case "done": {
          const seconds = e.elapsedMs / 1000;
          const moved = e.size - e.resumedFrom;
          const speed = seconds > 0 ? `, ${formatBytes(moved / seconds)}/s` : "";
          // On a terminal this replaces the progress bar; in a log it is the file's second and last line.
          status.finish(`${e.file}: ${formatBytes(e.size)} in ${formatDuration(seconds)}${speed}, ${e.hash.split(":")[0]} verified`);
          break;
        }
      }
    };
    log(`${offline ? "checking (HF_HUB_OFFLINE is set: no network)" : "fetching"} ${modelId} @ ${revision} into ${dir}`);
    try {
      await downloadModel({
        modelId,
        revision,
        dir,
        endpoint: io.env.HF_ENDPOINT,
        token: io.env.HF_TOKEN ?? io.env.HUGGING_FACE_HUB_TOKEN,
        offline,
        onEvent,
      });
    } finally {
      status.finish();
    }
    await writeLine(io.stdout, dir);
    const isDefault = dirArg === undefined && modelId === DEFAULT_MODEL_ID && revision === DEFAULT_REVISION;
    log(`ready. next: distilbert-ts classify ${isDefault ? "" : `--model ${JSON.stringify(dir)} `}"I loved this film"`);
    return 0;
  },
};
