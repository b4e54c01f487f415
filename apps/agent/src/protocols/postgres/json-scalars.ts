/**
 * An entity masked where JSON has a number (`{"pan":4111111111111111}`) leaves `****************` or
 * `h:…` outside any string, which is no JSON. Such a scalar becomes `null`, like a masked number column,
 * so the document still parses; strings and valid scalars are kept byte for byte.
 */
const STRING = /"(?:[^"\\]|\\.)*"/g;
const SCALAR = /h:[0-9a-f]{16}|[^\s{}[\],:"]+/g;
const VALID_SCALAR = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;

export function nullInvalidJsonScalars(json: string): string {
  let out = '';
  let cursor = 0;
  const outside = (segment: string): string => segment.replace(SCALAR, (token) => (VALID_SCALAR.test(token) ? token : 'null'));
  STRING.lastIndex = 0;
  for (let m = STRING.exec(json); m !== null; m = STRING.exec(json)) {
    out += outside(json.slice(cursor, m.index)) + m[0];
    cursor = m.index + m[0].length;
  }
  return out + outside(json.slice(cursor));
}
