export { refuseOnChannel, spliceSessionChannel, type SpliceObserver } from './channel-splice.js';
