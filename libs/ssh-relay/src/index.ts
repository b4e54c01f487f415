export { refuseOnChannel, spliceSessionChannel, type OutputFilter, type OutputFilterFactory, type SpliceObserver, type SpliceOptions } from './channel-splice.js';
export { generateEd25519KeyPair } from './key-pair.js';
