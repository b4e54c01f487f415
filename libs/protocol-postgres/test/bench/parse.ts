/**
 * Prints parser/serializer throughput figures (not a test): `npx tsx libs/protocol-postgres/test/bench/parse.ts`.
 */
import { BackendParser, dataRow, FrontendParser, serializeFrontend } from '../../src/index.js';

function time(label: string, bytes: number, messages: number, fn: () => void): void {
  fn(); // warm up
  const start = process.hrtime.bigint();
  fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(
    `${label.padEnd(48)} ${ms.toFixed(1).padStart(8)} ms  ${((bytes / 1024 / 1024 / ms) * 1000).toFixed(0).padStart(6)} MiB/s  ${((messages / ms) * 1000).toFixed(0).padStart(9)} msg/s`,
  );
}

function chunked(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += size) out.push(stream.subarray(i, i + size));
  return out;
}

const ROWS = 200_000;
const row = dataRow([Buffer.from('12345'), Buffer.from('alice@example.com'), null, Buffer.from('2026-11-28 18:00:00+00')]);
const rows = Buffer.concat(Array.from({ length: ROWS }, () => row));
for (const size of [1460, 65536]) {
  const chunks = chunked(rows, size);
  time(`backend: ${ROWS} DataRows in ${size}-byte chunks`, rows.length, ROWS, () => {
    const p = new BackendParser();
    let n = 0;
    for (const c of chunks) for (const _m of p.parse(c)) n++;
    if (n !== ROWS) throw new Error(`parsed ${n}`);
  });
}

time(`backend: re-encode ${ROWS} DataRows (masking path)`, rows.length, ROWS, () => {
  const p = new BackendParser();
  for (const m of p.parse(rows)) if (m.kind === 'DataRow') dataRow(m.values);
});

const big = serializeFrontend({ kind: 'CopyData', data: Buffer.alloc(64 * 1024 * 1024 - 16) });
for (const size of [1024, 65536]) {
  const chunks = chunked(big, size);
  time(`frontend: 64 MiB CopyData in ${size}-byte chunks`, big.length, 1, () => {
    const p = new FrontendParser({ startupDone: true });
    let n = 0;
    for (const c of chunks) for (const _m of p.parse(c)) n++;
    if (n !== 1) throw new Error(`parsed ${n}`);
  });
}

const BATCH = 50_000;
const extended = Buffer.concat(
  Array.from({ length: BATCH }, (_, i) =>
    Buffer.concat([
      serializeFrontend({ kind: 'Bind', portal: '', statement: 'P0_1', paramFormats: [], params: [Buffer.from(String(i)), Buffer.from('42')], resultFormats: [] }),
      serializeFrontend({ kind: 'Execute', portal: '', maxRows: 0 }),
      serializeFrontend({ kind: 'Sync' }),
    ]),
  ),
);
time(`frontend: ${BATCH}x Bind/Execute/Sync (pgbench -M prepared)`, extended.length, BATCH * 3, () => {
  const p = new FrontendParser({ startupDone: true });
  for (const c of chunked(extended, 16384)) for (const _m of p.parse(c));
});
