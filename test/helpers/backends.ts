/** Every backend the kernel and model tests run against; a new backend adds itself here. */
import type { Backend } from "../../src/tensor/backend.js";
import { JsBackend } from "../../src/tensor/js-backend.js";

export interface BackendCase {
  name: string;
  create: () => Promise<Backend>;
}

export const backendCases: BackendCase[] = [{ name: "js", create: async () => new JsBackend() }];
