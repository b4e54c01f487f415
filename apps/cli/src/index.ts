export { startConnectListener, connectUrl, type ConnectEvent, type ConnectListener, type ConnectListenerOptions } from './connect/listener.js';
export { describeClose } from './connect/close-codes.js';
export { buildProgram } from './program.js';
export { loadToken, saveToken, jwtExpiry, type StoredToken } from './token-store.js';
export { CliError } from './errors.js';
