/**
 * A turn of the host's event loop for async calls between their batches: timers and I/O run before the promise
 * resolves (a resolved promise would only let other microtasks run). setImmediate where the host has it (Node, Bun,
 * Deno), else setTimeout(0); a host with no timers at all (a bare V8 context) gets a microtask, the most it offers.
 */
type Schedule = (callback: () => void) => unknown;

const host = globalThis as { setImmediate?: Schedule; setTimeout?: (callback: () => void, ms: number) => unknown };

export function nextMacrotask(): Promise<void> {
  if (typeof host.setImmediate === "function") return new Promise((resolve) => host.setImmediate!(resolve));
  if (typeof host.setTimeout === "function") return new Promise((resolve) => host.setTimeout!(resolve, 0));
  return Promise.resolve();
}
