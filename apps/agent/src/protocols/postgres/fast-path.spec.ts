import { describe, expect, it } from 'vitest';
import { functionCallClassification } from './fast-path.js';

describe('fast-path FunctionCall', () => {
  it('is admin when it runs a built-in function by OID (pg_terminate_backend, pg_read_file, set_config...)', () => {
    for (const oid of [2096, 2624, 2078]) expect(functionCallClassification(oid).actions).toEqual(['sql:admin', 'sql:procedural']);
  });

  it('is procedural for a function created in the database', () => {
    expect(functionCallClassification(16500)).toMatchObject({ kind: 'procedural', actions: ['sql:procedural'], functions: ['oid:16500'], readOnly: false });
  });
});
