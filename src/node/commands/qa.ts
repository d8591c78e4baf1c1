/** qa: extractive question answering (a question-answering model) on the command line. */
import { InputError, UsageError } from "../../errors.js";
import { type QaAnswer, type QaOptions, questionAnswering } from "../../pipelines/question-answering.js";
import { printable } from "../../printable.js";
import { MODEL_USAGE, stringOpt, writeLine, type Command, type CliIO, type Values } from "../cli-support.js";
import { positiveInt } from "../formats/batch.js";
import { INPUT_OPTIONS, loadTaskModel, num, taskInputs } from "../task-input.js";

export const qaCommand: Command = {
  name: "qa",
  summary: "answer a question from a context (a question-answering model)",
  usage: [
    "distilbert-ts qa --model DIR --question Q --context C [--top-k K] [--max-seq-len N] [--doc-stride N] [--max-answer-len N] [--json]",
    "       distilbert-ts qa --model DIR --file PATH.jsonl|.csv|.tsv   (fields question and context)",
    "  without --question/--context or --file, reads one JSON object {\"question\", \"context\"} per stdin line",
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
    const inputs = question !== undefined ? one(question, context!) : pairs(values, io);
    const model = await loadTaskModel("qa", values, io);
    for await (const q of inputs) {
      const out = questionAnswering(model, q, options);
      if (values.json === true) {
        await writeLine(io.stdout, JSON.stringify(out));
        continue;
      }
      let s = `${printable(q.question, Infinity)}\n`;
      for (const a of (Array.isArray(out) ? out : [out]) as QaAnswer[]) s += `  ${num(a.score)}  ${printable(JSON.stringify(a.answer), 200)}  [${a.start}, ${a.end})\n`;
      await io.stdout.write(s);
    }
    return 0;
  },
};

async function* one(question: string, context: string): AsyncGenerator<{ question: string; context: string }> {
  yield { question, context };
}

/** --file records with question and context fields, or stdin JSON lines. */
async function* pairs(values: Values, io: CliIO): AsyncGenerator<{ question: string; context: string }> {
  const fromFile = values.file !== undefined;
  let n = 0;
  for await (const r of taskInputs("qa", values, [], io, fromFile ? "question" : "text")) {
    n++;
    let row = r.row;
    if (!fromFile) {
      try {
        row = JSON.parse(r.text);
      } catch {
        throw new InputError(`stdin:${n}`, "is not a JSON object", '{"question": …, "context": …}');
      }
    }
    const { question, context } = (row ?? {}) as Record<string, unknown>;
    if (typeof question !== "string" || typeof context !== "string") throw new InputError(`${fromFile ? String(values.file) : "stdin"}:${n}`, "has no question and context strings", '{"question": …, "context": …}');
    yield { question, context };
  }
}
