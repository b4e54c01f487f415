export * from './agent-channel.js';
export * from './client-connect.js';
