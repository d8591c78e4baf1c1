// Types for demo/loader.js (plain JS, served to the browser as is; the Node tests import it).
export function readStreamInto(stream: ReadableStream<Uint8Array>, total: number | null, onProgress?: (loaded: number, total: number | null) => void, what?: string): Promise<Uint8Array>;
export function fetchBytes(url: string, onProgress?: (loaded: number, total: number | null) => void, signal?: AbortSignal): Promise<Uint8Array>;
export function fileBytes(file: Blob & { name: string }, onProgress?: (loaded: number, total: number | null) => void): Promise<Uint8Array>;
export function fetchText(url: string, signal?: AbortSignal): Promise<string>;
export interface PickedFiles<F> {
  config: F | null;
  vocab: F | null;
  tokenizer: F | null;
  weights: F | null;
  missing: string[];
}
export function pickModelFiles<F>(entries: { path: string; file: F }[]): PickedFiles<F>;
