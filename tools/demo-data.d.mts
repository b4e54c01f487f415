export function ensureDemoData(adminUrl?: string): Promise<void>;
export function ensureMariadbDemoData(options?: { host?: string; port?: number; user?: string; password?: string }): Promise<void>;
