export { refuseOnChannel, spliceSessionChannel, type SpliceObserver } from './channel-splice.js';
export { generateEd25519KeyPair } from './key-pair.js';
