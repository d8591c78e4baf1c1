/**
 * One rule for a label a person names (probe --label, eval's gold labels, attribute/inspect --target, patch
 * --target/--other, the study's label): the model's exact name, else the one name equal to it ignoring case, so
 * "positive" is POSITIVE.
 */
import { InputError } from "../errors.js";

/** The model's label for `name`: exact, else ignoring case; undefined when neither (or the case-blind match is ambiguous). */
export function matchLabel(labels: readonly string[], name: string): string | undefined {
  if (labels.includes(name)) return name;
  const folded = labels.filter((l) => l.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

/** A label name (matchLabel's rule) or an index, as an index; an InputError at `where` when it is neither. */
export function labelIndexOf(labels: readonly string[], label: string | number, where: string): number {
  const name = typeof label === "string" ? matchLabel(labels, label) : undefined;
  const i = typeof label === "number" ? label : name === undefined ? -1 : labels.indexOf(name);
  if (!Number.isInteger(i) || i < 0 || i >= labels.length) {
    throw new InputError(where, `${JSON.stringify(label)} is not a label of this model`, `one of ${labels.join(", ")} (case is ignored), or an index below ${labels.length}`);
  }
  return i;
}
