export * from './agent-channel.js';
export * from './client-connect.js';
export * from './postgres-session.js';
export * from './mysql-session.js';
export * from './recording.js';
export * from './approvals.js';
export * from './ssh-session.js';
export * from './mcp-tool-pins.js';
