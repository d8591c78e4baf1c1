/** qa: extractive question answering (a question-answering model) on the command line. */
import { InputError, UsageError } from "../../errors.js";
import { type QaAnswer, type QaInput, type QaOptions, questionAnswering } from "../../pipelines/question-answering.js";
import { printable } from "../../printable.js";
import { MODEL_USAGE, stringOpt, writeLine, type Command, type CliIO, type Values } from "../cli-support.js";
import { positiveInt } from "../formats/batch.js";
import { writeWithBackpressure } from "../formats/output.js";
import { EMPTY_INPUT, isEmptyText } from "./classify.js";
import { eachInput, INPUT_OPTIONS, loadTaskModel, num, skippedLine, taskInputs, type TaskInput, type TaskInputs } from "../task-input.js";

export const qaCommand: Command = {
  name: "qa",
  summary: "answer a question from a context (a question-answering model)",
  usage: [
    "distilbert-ts qa --model DIR --question Q --context C [--top-k K] [--max-seq-len N] [--doc-stride N] [--max-answer-len N] [--json]",
    "       distilbert-ts qa --model DIR --file PATH.jsonl|.csv|.tsv   (fields question and context)",
    "  without --question/--context or --file, reads one JSON object {\"question\", \"context\"} per stdin line",
    "  one output per input, in order: an empty question or context keeps its place as `-  (skipped: empty input)`",
    "    ({\"text\",\"skipped\"} with --json); a bad input stops the run after the outputs before it, unless --skip-bad-lines",
    "  long contexts are read in windows of --max-seq-len tokens (default 384) overlapping by --doc-stride (128)",
    "  --json prints one JSON value per input, shaped as Hugging Face's pipeline output",
    MODEL_USAGE,
  ].join("\n"),
  options: {
    ...INPUT_OPTIONS,
    question: { type: "string" },
    context: { type: "string" },
    "top-k": { type: "string" },
    "max-seq-len": { type: "string" },
    "doc-stride": { type: "string" },
    "max-answer-len": { type: "string" },
  },
  async run(values: Values, _positionals: string[], io: CliIO): Promise<number> {
    const opt = (name: string) => {
      const v = stringOpt(values, name);
      return v === undefined ? undefined : positiveInt(v, `--${name}`);
    };
    const options: QaOptions = { topK: opt("top-k"), maxSeqLen: opt("max-seq-len"), docStride: opt("doc-stride"), maxAnswerLen: opt("max-answer-len") };
    const question = stringOpt(values, "question");
    const context = stringOpt(values, "context");
    if ((question === undefined) !== (context === undefined)) throw new UsageError("qa", "--question and --context go together", "both, or --file, or JSON lines on stdin");
    if (question !== undefined && values.file !== undefined) throw new UsageError("qa", "both --question and --file given", "one of them");
    if (question !== undefined && values["skip-bad-lines"] === true) throw new UsageError("--skip-bad-lines", "only applies to --file or stdin", "--file PATH, or JSON lines on stdin");
    // Fields of a --file record or of --question/--context; a stdin line is a JSON object to parse.
    const hasFields = values.file !== undefined || question !== undefined;
    const inputs: TaskInputs = question !== undefined
      ? { inputs: one(question, context!), skip: false, from: "arguments" }
      : await taskInputs("qa", values, [], io, hasFields ? "question" : "text", 'JSON objects {"question", "context"}', "--question Q --context C, or --file PATH");
    inputs.inputs = markEmpty(inputs.inputs, hasFields);
    const model = await loadTaskModel("qa", values, io, "DistilBertForQuestionAnswering");
    const json = values.json === true;
    const answer = (input: TaskInput) => questionAnswering(model, pairOf(input, hasFields), options);
    return eachInput(inputs, io, answer, async (input, out, skipped) => {
      if (skipped !== undefined || out === undefined) return skippedLine(io, input.text, skipped ?? "", json);
      if (json) return writeLine(io.stdout, JSON.stringify(out));
      let s = `${printable(pairOf(input, hasFields).question, Infinity)}\n`;
      for (const a of (Array.isArray(out) ? out : [out]) as QaAnswer[]) s += `  ${num(a.score)}  ${printable(JSON.stringify(a.answer), 200)}  [${a.start}, ${a.end})\n`;
      await writeWithBackpressure(io.stdout, s);
    });
  },
};

/** The two arguments as one input (an empty one follows the row rule, as an empty TEXT does). */
async function* one(question: string, context: string): AsyncGenerator<TaskInput> {
  yield { row: { question, context }, text: question, where: "--question/--context" };
}

/** An input whose question or context is empty or only whitespace is an empty input (the row rule). */
async function* markEmpty(inputs: AsyncIterable<TaskInput>, hasFields: boolean): AsyncGenerator<TaskInput> {
  for await (const input of inputs) {
    if (input.skipped === undefined) {
      let pair: QaInput | undefined;
      try {
        pair = pairOf(input, hasFields);
      } catch {
        // Not a question and context at all: a bad input, reported when it is answered.
      }
      if (pair !== undefined && (isEmptyText(pair.question) || isEmptyText(pair.context))) input.skipped = EMPTY_INPUT;
    }
    yield input;
  }
}

/**
 * An input's question and context: a --file record's fields, or a stdin line's JSON object. A line that is no such
 * object is a bad input (named `inputs[0]` like the pipeline's own complaints, which eachInput relocates to its line).
 */
function pairOf(input: TaskInput, hasFields: boolean): QaInput {
  let row = input.row;
  if (!hasFields) {
    try {
      row = JSON.parse(input.text);
    } catch {
      throw new InputError("qa: inputs[0]", "is not a JSON object", '{"question": …, "context": …}');
    }
  }
  const { question, context } = (row ?? {}) as Record<string, unknown>;
  if (typeof question !== "string" || typeof context !== "string") throw new InputError("qa: inputs[0]", "has no question and context strings", '{"question": …, "context": …}');
  return { question, context };
}
