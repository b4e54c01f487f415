/** socket.io hands binary payloads over as Buffer (Node) or ArrayBuffer; anything else is not a frame. */
export function asFrameBytes(payload: unknown): Uint8Array | undefined {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  return undefined;
}
