export const DEMO_LOGIN: string;
export const DEMO_LOGIN_HOME: string;
export const HIDDEN_SOCKET_DIRS: string[];
export function ensureDemoLogin(): number;
export function lockDemoHome(): void;
export function lockDownDataDir(dir: string): void;
export function blockPortsForLogin(ports: string[]): { blocked: true; tools: string[] } | { blocked: false; why: string };
export function inPrivateMounts(argv: string[]): string[] | undefined;
