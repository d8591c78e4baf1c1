/**
 * Rules every command follows the same way (issue 18): the terminal hint for stdin, one TEXT rule, one label-case
 * rule. Kept apart from cli-support so that commands import them on a line of their own.
 */
import { matchLabel } from "../analysis/probe.js";
import { UsageError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import type { CliIO } from "./cli-support.js";

/**
 * A person who typed the command alone would otherwise face a silent wait: on a terminal, say that stdin is read.
 * Every command that reads stdin when given nothing else says it the same way.
 */
export function stdinHint(io: CliIO, what: string, instead = "give TEXT arguments, or --file PATH"): void {
  if ((io.stdin as { isTTY?: boolean }).isTTY === true) {
    io.stderr.write(`reading ${what} from the terminal, one a line; Ctrl-D ends (or ${instead})\n`);
  }
}

/**
 * One rule across commands: each TEXT argument is a separate text. A command that looks at one input (inspect,
 * attribute) refuses several rather than joining them; classify, tokenize and the task commands take each as its own.
 */
export function atMostOneText(cmd: string, texts: readonly string[]): void {
  if (texts.length > 1) throw new UsageError(cmd, `takes one TEXT, got ${texts.length} arguments`, `one quoted text ("the film was fine"), or classify/tokenize for several texts`);
}

/**
 * A label option as typed (attribute/inspect --target, patch --target/--other) → the classifier's own label name,
 * under the case rule of probe --label and eval's gold labels ("positive" is POSITIVE). Anything else (no match, or a
 * head whose targets are not labels) is passed on unchanged, for the library to accept or refuse by name.
 */
export function labelOption(model: DistilBertClassifier, value: string | undefined): string | undefined {
  if (value === undefined || model.model.architecture !== "DistilBertForSequenceClassification") return value;
  return matchLabel(model.config.labels, value) ?? value;
}
