// Types for scripts/demo-server.mjs (plain JS so that `node scripts/demo-server.mjs` needs no build step).
export interface StaticServer {
  url: string;
  port: number;
  close(): Promise<void>;
}
export function contentSecurityPolicy(options?: { wasm?: boolean }): string;
export function startStaticServer(options: { mounts: Record<string, string>; port?: number; host?: string; csp?: string | ((url: URL) => string); crossOriginIsolated?: boolean; log?: boolean }): Promise<StaticServer>;
export function demoMounts(modelDir?: string): Record<string, string>;
