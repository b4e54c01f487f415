import { findEntities, MASK_ENTITIES } from './src/index.ts';
const t = process.argv[2]!;
console.log(findEntities(t, new Set(MASK_ENTITIES)).map(m => [m.entity, t.slice(m.start, m.end)]));
