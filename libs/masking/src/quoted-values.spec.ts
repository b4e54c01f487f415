import { describe, expect, it } from 'vitest';
import { Masker } from './masker.js';
import { maskQuotedValues } from './quoted-values.js';

describe('maskQuotedValues', () => {
  it('masks what Postgres and MySQL messages quote, keeping the message around it', () => {
    expect(maskQuotedValues('invalid input syntax for type integer: "1234.50x"')).toBe('invalid input syntax for type integer: "****.***"');
    expect(maskQuotedValues('Key (note)=(98765.43) already exists.')).toBe('Key (note)=(*****.**) already exists.');
    expect(maskQuotedValues('Failing row contains (1, Ada (the first), null).')).toBe('Failing row contains (*, *** (*** *****), ****).');
    expect(maskQuotedValues("Truncated incorrect DOUBLE value: '98765.43x'")).toBe("Truncated incorrect DOUBLE value: '*****.***'");
    expect(maskQuotedValues("Incorrect datetime value: 'Ada' for column `db`.`customers`.`name` at row 1")).toBe("Incorrect datetime value: '***' for column `db`.`customers`.`name` at row 1");
    expect(maskQuotedValues('Token "Ada" is invalid.')).toBe('Token "***" is invalid.');
  });

  it('reads a doubled quote as part of the value, and masks an unterminated one to the end', () => {
    expect(maskQuotedValues("value: 'O''Brien' here")).toBe("value: '*''*****' here");
    expect(maskQuotedValues('cut: "Ada Love')).toBe('cut: "*** ****');
    expect(maskQuotedValues('no quotes at all')).toBe('no quotes at all');
  });

  it('is what Masker.maskMessage applies when asked, beside entity masking', () => {
    const masker = new Masker({ entities: [{ entity: 'email', style: 'partial' }], columns: [] }, { key: Buffer.alloc(32) });
    expect(masker.maskMessage('bad value "Ada" for ada@example.com')).toBe('bad value "Ada" for a**@example.com');
    expect(masker.maskMessage('bad value "Ada" for ada@example.com', true)).toBe('bad value "***" for a**@example.com');
    const columnsOnly = new Masker({ entities: [], columns: [{ table: 'customers', column: 'name', style: 'full' }] }, { key: Buffer.alloc(32) });
    expect(columnsOnly.maskMessage('bad value "Ada"', true)).toBe('bad value "***"');
  });
});
