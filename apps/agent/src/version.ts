/** Reported in the handshake and hello; bump with releases. */
export const AGENT_VERSION = '0.1.0';
