// Prints how fast one SPDY session moves DATA through (decode, window bookkeeping, delivery) and how
// fast header blocks compress and decompress. Run: npx tsx libs/protocol-spdy/test/bench/session.ts
import { encodeData, encodeSynStream, HeaderCompressor, HeaderDecompressor, DEFAULT_LIMITS, SpdySession } from '../../src/index.js';

function dataThroughput(frameBytes: number, totalBytes: number): void {
  let delivered = 0;
  const session = new SpdySession({
    role: 'server', strictFlowControl: false, output: () => undefined,
    onStream: (s) => {
      s.reply();
      s.setReceiver({ data: (c) => (delivered += c.length), end: () => undefined, reset: () => undefined });
    },
  });
  session.receive(encodeSynStream(1, 0, 0, new HeaderCompressor().compress({ streamtype: 'data', port: '8080', requestid: '0' })));
  const frame = encodeData(1, Buffer.alloc(frameBytes, 7));
  // Chunks as TCP delivers them: 64 KiB, cutting frames anywhere.
  const stream = Buffer.concat(Array.from({ length: Math.ceil(totalBytes / frameBytes) }, () => frame));
  const started = process.hrtime.bigint();
  for (let i = 0; i < stream.length; i += 65536) session.receive(stream.subarray(i, i + 65536));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`DATA ${frameBytes} B frames: ${(delivered / seconds / 1e6).toFixed(0)} MB/s (${(delivered / frameBytes / seconds / 1e3).toFixed(0)}k frames/s)`);
}

function headerBlocks(count: number): void {
  const compressor = new HeaderCompressor();
  const decompressor = new HeaderDecompressor(DEFAULT_LIMITS);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) decompressor.decompress(compressor.compress({ streamtype: i % 2 ? 'data' : 'error', port: '8080', requestid: String(i) }), 2 * i + 1);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`header blocks (compress + decompress): ${(count / seconds / 1e3).toFixed(0)}k/s`);
}

dataThroughput(32 * 1024, 256 * 1024 * 1024);
dataThroughput(1024, 64 * 1024 * 1024);
headerBlocks(50_000);
