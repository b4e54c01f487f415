// The smallest multiplexing a tunnel needs: frames [u32 stream id][u32 length][bytes], the frames of one
// event-loop turn sent as one WebSocket message (as the gateway's frame batches), length 0 = end of stream.
export function createBatcher(send) {
  let parts = [];
  let scheduled = false;
  const flush = () => { scheduled = false; const batch = Buffer.concat(parts); parts = []; send(batch); };
  return (streamId, bytes) => {
    const header = Buffer.allocUnsafe(8);
    header.writeUInt32BE(streamId, 0);
    header.writeUInt32BE(bytes.length, 4);
    parts.push(header, bytes);
    if (!scheduled) { scheduled = true; setImmediate(flush); }
  };
}

export function splitBatch(batch, onFrame) {
  for (let at = 0; at < batch.length;) {
    const id = batch.readUInt32BE(at);
    const length = batch.readUInt32BE(at + 4);
    onFrame(id, batch.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
}
