import { describe, expect, it } from 'vitest';
import { MysqlClassifier } from '@gw/sql-mysql';
import { startRefusal } from './session-start.js';

const classifier = new MysqlClassifier();

describe('the MySQL login the gateway lets through', () => {
  it('refuses a character set in which the server would cut the text differently from the classifier', () => {
    // gbk_chinese_ci, big5_chinese_ci, sjis_japanese_ci, cp932_japanese_ci, gb18030_chinese_ci, swe7_swedish_ci
    for (const charset of [28, 1, 13, 95, 248, 10]) {
      expect(startRefusal({ charset, schema: null }, classifier)).toMatchObject({ code: 1115 });
    }
    // utf8mb4_general_ci, utf8mb4_0900_ai_ci, utf8mb3_general_ci, latin1_swedish_ci, binary, the default
    for (const charset of [45, 255, 33, 8, 63, 0]) {
      expect(startRefusal({ charset, schema: null }, classifier)).toBeUndefined();
    }
  });

  it('refuses a default schema that USE would need admin for (its tables would be named without it)', () => {
    expect(startRefusal({ charset: 45, schema: 'mysql' }, classifier)).toMatchObject({ code: 1044 });
    expect(startRefusal({ charset: 45, schema: 'Performance_Schema' }, classifier)).toMatchObject({ code: 1044 });
    expect(startRefusal({ charset: 45, schema: 'shop' }, classifier)).toBeUndefined();
    expect(startRefusal({ charset: 45, schema: 'a`b' }, classifier)).toBeUndefined();
  });
});
