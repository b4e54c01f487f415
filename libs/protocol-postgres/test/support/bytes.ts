/**
 * Frame builders written independently of the library's Writer, so that serializer bugs cannot hide
 * behind a parser that shares them: tests state the expected bytes directly.
 */
export const i16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
export const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};
export const u8 = (v: number): Buffer => Buffer.from([v]);
export const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
export const str = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Typed frame: type byte, Int32 length (self-inclusive), body. */
export function frame(type: string, ...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type, 'latin1'), i32(b.length + 4), b]);
}

/** Startup-phase packet: Int32 length, body. */
export function packet(...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  return Buffer.concat([i32(b.length + 4), b]);
}

/** Removes `raw` so a parsed message can be compared with the object it was serialized from. */
export function strip<T extends { raw: Buffer }>(m: T): Omit<T, 'raw'> {
  const { raw: _raw, ...rest } = m;
  return rest;
}

/** Deterministic PRNG (mulberry32) so fuzz cases are reproducible from their seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
