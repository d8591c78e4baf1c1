/**
 * Named activations, declared once by the module that emits them (as TransformerLens's hook points): each module
 * type lists its points with their shapes and the Hugging Face module each equals; an instance emits them under the
 * prefix its parent gives it (hookNames), and the activation table composes the same declarations with the same
 * prefixes (hookTable). A name is thus the path of modules down to the point, e.g. "layer.3" + "attn" + "probs".
 */

/** One activation a module shows. */
export interface HookPoint {
  /** Symbolic shape, e.g. ["B", "H", "T", "T"]. */
  readonly shape: readonly string[];
  /** The Hugging Face submodule it is the output of, relative to the module's own ("" = the module itself). */
  readonly hf: string;
  /** What of that submodule, when it is not simply its output (e.g. "input"). */
  readonly what?: string;
  readonly description: string;
}

/** A module's points by their local name; the order is the order of emission. */
export type HookPoints = Readonly<Record<string, HookPoint>>;

/** One activation with its full name and full Hugging Face path. */
export interface ActivationInfo {
  /** e.g. "layer.3.attn.probs" */
  readonly name: string;
  /** Symbolic shape, e.g. ["B", "H", "T", "T"]. */
  readonly shape: readonly string[];
  /** The Hugging Face module (or tensor inside a module's forward) it equals. */
  readonly hfPath: string;
  readonly description: string;
}

/** `a.b`, or whichever is not empty. */
export function joinPath(a: string, b: string): string {
  return a === "" ? b : b === "" ? a : `${a}.${b}`;
}

/** The full names of a module's points under `prefix`: hookNames({ q: … }, "layer.3.attn").q = "layer.3.attn.q". */
export function hookNames<P extends HookPoints>(points: P, prefix: string): { readonly [K in keyof P]: string } {
  const names: Record<string, string> = {};
  for (const local of Object.keys(points)) names[local] = joinPath(prefix, local);
  return names as { readonly [K in keyof P]: string };
}

/** A module's points as table rows, under `prefix` and the Hugging Face module path `hfPrefix`. */
export function hookTable(points: HookPoints, prefix: string, hfPrefix: string): ActivationInfo[] {
  return Object.entries(points).map(([local, p]) => ({
    name: joinPath(prefix, local),
    shape: p.shape,
    hfPath: joinPath(hfPrefix, p.hf) + (p.what === undefined ? "" : ` (${p.what})`),
    description: p.description,
  }));
}
