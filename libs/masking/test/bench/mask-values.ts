// Prints the cost of Masker.maskValue per value for typical shapes. Run: npx tsx libs/masking/test/bench/mask-values.ts
import { MASK_ENTITIES, Masker } from '../../src/index.js';

const masker = new Masker(
  { entities: MASK_ENTITIES.map((entity) => ({ entity, style: 'full' as const })), columns: [] },
  { key: 'bench-key-0123456789', defaultRegion: 'US' },
);
const shapes: Record<string, string> = {
  'short text': 'hello world',
  integer: '12345',
  'CSV row with PII': 'Ada Lovelace,ada@example.com,+44 20 7946 0958,4111111111111111,10.1.2.3',
  'JSON row without PII': '{"id":123,"name":"Bob","created":"2024-01-15T10:00:00Z","total":"1234.56"}',
  '4 KiB prose': 'The quick brown fox jumps over the lazy dog 42 times. '.repeat(80),
};
const rounds = 20_000;
for (const [name, value] of Object.entries(shapes)) {
  const started = performance.now();
  for (let i = 0; i < rounds; i++) masker.maskValue(value + String(i % 10));
  const micros = ((performance.now() - started) * 1000) / rounds;
  console.log(`${name.padEnd(24)} ${micros.toFixed(1).padStart(8)} µs/value`);
}
