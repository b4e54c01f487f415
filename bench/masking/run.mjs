// Masking cost per character of one large value, for shapes that make a recognizer work hard (long runs
// of near-matches) against ordinary text of the same size, in one run. A value is masked on the agent's
// event loop, so a slow shape stalls every session of that agent: the ratio says how much worse than
// ordinary text the worst shapes are.
//   npm run build && node bench/masking/run.mjs   (BENCH_CHARS=160000, BENCH_ROUNDS=3, best kept)
import { Masker, MASK_ENTITIES } from '../../libs/masking/dist/index.js';

const CHARS = Number(process.env.BENCH_CHARS ?? 160_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const masker = new Masker({ entities: MASK_ENTITIES.map((entity) => ({ entity, style: 'full' })), columns: [] }, { key: Buffer.alloc(32, 7) });

const shapes = [
  ['ordinary text (baseline)', 'The quick brown fox paid 12.50 on 2024-01-15 for order 88213. '],
  ['small numbers "1 "', '1 '],
  ['small numbers "4 " (a card issuer digit)', '4 '],
  ['dashed digits "4-"', '4-'],
  ['plus-joined digits "4+"', '4+'],
  ['digit pairs "41 "', '41 '],
  ['long digit run', '9'],
  ['dotted words "a."', 'a.'],
  ['at signs "a@"', 'a@'],
  ['colon digits ":1"', ':1'],
  ['IBAN prefixes "DE89"', 'DE89'],
  ['escapes "a%40"', 'a%40'],
  ['JWT-like "eyJ"', 'eyJ'],
];

const rows = [];
for (const [name, unit] of shapes) {
  const text = unit.repeat(Math.ceil(CHARS / unit.length)).slice(0, CHARS);
  let best = Infinity;
  for (let round = 0; round < ROUNDS + 1; round++) {
    const started = process.hrtime.bigint();
    masker.maskValue(text);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (round > 0) best = Math.min(best, ms); // the first round warms the JIT up
  }
  rows.push({ name, ms: best });
}
const baseline = rows[0].ms;
console.log(`one value of ${CHARS} characters, all entity kinds on, best of ${ROUNDS}`);
console.log(`${'shape'.padEnd(44)} ${'ms'.padStart(8)} ${'us/char'.padStart(8)} ${'x ordinary'.padStart(11)}`);
for (const { name, ms } of rows) {
  console.log(`${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ${((ms * 1000) / CHARS).toFixed(2).padStart(8)} ${(ms / baseline).toFixed(1).padStart(11)}`);
}
