import { Decoder as BaseDecoder, Encoder as BaseEncoder, PacketType, type Packet } from 'socket.io-parser';

/*
 * A socket.io parser that carries one event, the tunnel's frame batches, as a single raw binary
 * WebSocket message; everything else is socket.io's default encoding, unchanged.
 *
 * Why: socket.io sends an event with a Buffer argument as two WebSocket messages (a JSON header with a
 * placeholder, then the bytes), and reassembles them on the other side. For the tunnel, which sends
 * little else, that doubles the messages, socket writes and wake-ups per round trip.
 *
 * Raw message: 0xF5, u8 namespace length, namespace (UTF-8), then the event's bytes.
 * The default encoding never sends a binary message on its own: binary messages only follow a
 * BINARY_EVENT / BINARY_ACK header announcing them. A binary message that no header announced is
 * therefore ours, and anything in it but the layout above is a protocol error (socket.io closes the
 * connection, as it does for any undecodable packet).
 */

const RAW_MARKER = 0xf5;
const MAX_NAMESPACE_BYTES = 255;

export interface SocketIoParser {
  Encoder: new () => BaseEncoder;
  Decoder: new () => BaseDecoder;
}

function asBytes(obj: unknown): Uint8Array | undefined {
  if (obj instanceof Uint8Array) return obj;
  if (obj instanceof ArrayBuffer) return new Uint8Array(obj);
  return undefined;
}

/** The parser for both ends (socket.io Server option `parser`, socket.io-client option `parser`). */
export function rawEventParser(eventName: string): SocketIoParser {
  class RawEventEncoder extends BaseEncoder {
    override encode(packet: Packet): unknown[] {
      const data = packet.data as unknown[] | undefined;
      if (
        packet.type === PacketType.EVENT &&
        packet.id === undefined &&
        Array.isArray(data) &&
        data.length === 2 &&
        data[0] === eventName &&
        data[1] instanceof Uint8Array
      ) {
        const nsp = Buffer.from(packet.nsp, 'utf8');
        if (nsp.length > MAX_NAMESPACE_BYTES) throw new Error(`namespace ${packet.nsp} is too long for a raw event`);
        const payload = data[1];
        const message = Buffer.allocUnsafe(2 + nsp.length + payload.length);
        message[0] = RAW_MARKER;
        message[1] = nsp.length;
        nsp.copy(message, 2);
        message.set(payload, 2 + nsp.length);
        return [message];
      }
      return super.encode(packet) as unknown[];
    }
  }

  class RawEventDecoder extends BaseDecoder {
    /** Binary messages announced by the last BINARY_EVENT / BINARY_ACK header and not yet received. */
    private announced = 0;

    override add(obj: unknown): void {
      if (typeof obj === 'string') {
        const header = /^[56](\d+)-/.exec(obj);
        super.add(obj);
        if (header) this.announced = Number(header[1]);
        return;
      }
      if (this.announced > 0) {
        this.announced -= 1;
        super.add(obj);
        return;
      }
      const bytes = asBytes(obj);
      if (!bytes || bytes.length < 2 || bytes[0] !== RAW_MARKER) throw new Error('unannounced binary message');
      const nspEnd = 2 + bytes[1]!;
      if (bytes.length < nspEnd) throw new Error('raw event shorter than its namespace');
      const nsp = Buffer.from(bytes.buffer, bytes.byteOffset + 2, nspEnd - 2).toString('utf8');
      const payload = bytes.subarray(nspEnd);
      this.emitReserved('decoded', { type: PacketType.EVENT, nsp, data: [eventName, payload] });
    }
  }

  return { Encoder: RawEventEncoder, Decoder: RawEventDecoder };
}
