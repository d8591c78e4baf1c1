/**
 * Where downloaded models live. One folder per (model id, revision), so two revisions never mix files:
 *
 *   <home>/models/<owner>--<name>/<revision>/{config.json, model.safetensors, vocab.txt, .download.json}
 *
 * <home> is $DISTILBERT_TS_HOME, else $XDG_CACHE_HOME/distilbert-ts, else ~/.cache/distilbert-ts
 * (%LOCALAPPDATA%\distilbert-ts on Windows). `--dir` bypasses all of this and names the model folder itself.
 */
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

/** The model `download` fetches without MODEL_ID, and the one `classify`, `eval` and `inspect` use without --model. */
export const DEFAULT_MODEL_ID = "distilbert/distilbert-base-uncased-finetuned-sst-2-english";

/**
 * The pinned commit of DEFAULT_MODEL_ID. transformers pins the sentiment-analysis pipeline's default model at the
 * short revision "714eb0f" (src/transformers/pipelines/__init__.py, SUPPORTED_TASKS["text-classification"]); the full
 * sha below is that commit as it appears in Hugging Face cache snapshot paths (models--distilbert--distilbert-base-
 * uncased-finetuned-sst-2-english/snapshots/714eb0fa89d2…) in many public projects. A full sha makes every file
 * immutable, so a verified file never needs a request again.
 */
export const DEFAULT_REVISION = "714eb0fa89d2f80546fda750413ed43d93601a13";

export type Env = Record<string, string | undefined>;

/** The distilbert-ts home folder (see the file comment). */
export function distilbertHome(env: Env): string {
  const own = env.DISTILBERT_TS_HOME;
  if (own !== undefined && own !== "") return resolve(own);
  if (process.platform === "win32") {
    const local = env.LOCALAPPDATA;
    if (local !== undefined && local !== "") return join(local, "distilbert-ts");
  }
  const xdg = env.XDG_CACHE_HOME;
  // XDG says a relative value is invalid and must be ignored.
  if (xdg !== undefined && xdg !== "" && isAbsolute(xdg)) return join(xdg, "distilbert-ts");
  return join(env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir(), ".cache", "distilbert-ts");
}

/** A revision as a single safe path segment: commit shas stay as they are, "refs/pr/1" becomes "refs%2Fpr%2F1". */
export function revisionFolderName(revision: string): string {
  return encodeURIComponent(revision);
}

/** The folder `download` fills for a model id (already validated: "owner/name" or "name") and revision. */
export function modelDirFor(modelId: string, revision: string, env: Env): string {
  // Hub ids never contain "--" (huggingface_hub refuses it), so "owner--name" cannot collide with another id.
  return join(distilbertHome(env), "models", modelId.split("/").join("--"), revisionFolderName(revision));
}

export function defaultModelDir(env: Env): string {
  return modelDirFor(DEFAULT_MODEL_ID, DEFAULT_REVISION, env);
}
