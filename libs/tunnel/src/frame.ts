import type { StreamOpenHeader } from './open-header.js';

/** Wire type byte of each frame kind. */
export const FRAME_TYPE_BYTE = {
  OPEN: 0x01,
  OPEN_OK: 0x02,
  OPEN_ERROR: 0x03,
  DATA: 0x04,
  CREDIT: 0x05,
  END: 0x06,
  RESET: 0x07,
  PING: 0x08,
  PONG: 0x09,
} as const;

export type FrameType = keyof typeof FRAME_TYPE_BYTE;

/** OPEN carries the opener's receive window so the two ends need not share configuration. */
export interface OpenFrame {
  type: 'OPEN';
  streamId: number;
  window: number;
  header: StreamOpenHeader;
}
export interface OpenOkFrame {
  type: 'OPEN_OK';
  streamId: number;
  window: number;
}
export interface OpenErrorFrame {
  type: 'OPEN_ERROR';
  streamId: number;
  code: number;
  message: string;
}
export interface DataFrame {
  type: 'DATA';
  streamId: number;
  data: Uint8Array;
}
export interface CreditFrame {
  type: 'CREDIT';
  streamId: number;
  increment: number;
}
export interface EndFrame {
  type: 'END';
  streamId: number;
}
export interface ResetFrame {
  type: 'RESET';
  streamId: number;
  code: number;
  message: string;
}
export interface PingFrame {
  type: 'PING';
  streamId: 0;
  nonce: Uint8Array;
}
export interface PongFrame {
  type: 'PONG';
  streamId: 0;
  nonce: Uint8Array;
}

export type Frame =
  | OpenFrame
  | OpenOkFrame
  | OpenErrorFrame
  | DataFrame
  | CreditFrame
  | EndFrame
  | ResetFrame
  | PingFrame
  | PongFrame;

export type StreamFrame = Exclude<Frame, PingFrame | PongFrame>;
