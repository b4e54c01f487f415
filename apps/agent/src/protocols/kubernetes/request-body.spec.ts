import { describe, expect, it } from 'vitest';
import { readRequestBody, repeatedJsonKey } from './request-body.js';

const read = (text: string, contentType?: string) => readRequestBody(Buffer.from(text), contentType);
const labels = (text: string, contentType?: string) => {
  const r = read(text, contentType);
  if (!r.readable) throw new Error(`unreadable: ${r.message}`);
  return r.labels;
};

describe('labels of a request body, read as the API server reads it', () => {
  it('JSON objects, with or without a Content-Type (the API server takes JSON then)', () => {
    const body = JSON.stringify({ metadata: { name: 'x', labels: { app: 'web', privileged: 'true' } } });
    expect(labels(body, 'application/json')).toEqual({ app: 'web', privileged: 'true' });
    expect(labels(body, 'Application/JSON; charset=utf-8')).toEqual({ app: 'web', privileged: 'true' });
    expect(labels(body)).toEqual({ app: 'web', privileged: 'true' });
    // Go decodes a null label value as the empty string.
    expect(labels('{"metadata":{"labels":{"a":null}}}', 'application/json')).toEqual({ a: '' });
    expect(labels('{"metadata":{"name":"x"}}', 'application/json')).toBeUndefined();
  });

  it('YAML objects and server-side apply configurations (application/apply-patch+yaml)', () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    app: web\n    privileged: "true"\n    release: 2024-01-15\n    time: 1:20\n';
    expect(labels(yaml, 'application/apply-patch+yaml')).toEqual({ app: 'web', privileged: 'true', release: '2024-01-15', time: '1:20' });
    expect(labels(yaml, 'application/yaml')).toEqual({ app: 'web', privileged: 'true', release: '2024-01-15', time: '1:20' });
    // kubectl apply --server-side sends JSON text under the YAML media type.
    expect(labels('{"metadata":{"labels":{"privileged":"true"}}}', 'application/apply-patch+yaml')).toEqual({ privileged: 'true' });
    // Anchors and merge keys, as go-yaml resolves them.
    expect(labels('x: &l {privileged: "true"}\nmetadata:\n  labels:\n    <<: *l\n    app: web\n', 'application/apply-patch+yaml')).toEqual({ privileged: 'true', app: 'web' });
    const secret = read('kind: Secret\ntype: kubernetes.io/service-account-token\nmetadata: {name: t}\n', 'application/yaml');
    expect(secret).toMatchObject({ readable: true, type: 'kubernetes.io/service-account-token' });
  });

  it('the three JSON patch forms: merge (null removes), strategic merge (directives are not labels), JSON patch operations in order', () => {
    expect(labels('{"metadata":{"labels":{"a":"1","b":null}}}', 'application/merge-patch+json')).toEqual({ a: '1' });
    expect(labels('{"metadata":{"labels":{"$patch":"replace","a":"1"}}}', 'application/strategic-merge-patch+json')).toEqual({ a: '1' });
    const ops = [
      { op: 'add', path: '/metadata/labels/privileged', value: 'true' },
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'web' },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/metadata/labels/gone', value: 'x' },
      { op: 'remove', path: '/metadata/labels/gone' },
    ];
    expect(labels(JSON.stringify(ops), 'application/json-patch+json')).toEqual({ privileged: 'true', 'app.kubernetes.io/name': 'web' });
    expect(labels(JSON.stringify([{ op: 'replace', path: '/metadata/labels', value: { a: 'b' } }]), 'application/json-patch+json')).toEqual({ a: 'b' });
    expect(labels(JSON.stringify([{ op: 'add', path: '/metadata', value: { labels: { a: 'b' } } }]), 'application/json-patch+json')).toEqual({ a: 'b' });
    expect(labels(JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 3 }]), 'application/json-patch+json')).toBeUndefined();
  });

  it.each([
    ['application/vnd.kubernetes.protobuf', Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0b]), 415],
    ['application/cbor', Buffer.from([0xd9, 0xd9, 0xf7, 0xa0]), 415],
    ['application/apply-patch+cbor', Buffer.from([0xd9, 0xd9, 0xf7, 0xa0]), 415],
    ['text/plain', Buffer.from('metadata: {}'), 415],
    ['application/json', Buffer.from('{"metadata":'), 400],
    ['application/yaml', Buffer.from('metadata: [unclosed'), 400],
  ])('cannot read %s: reports why, with the Status code to refuse with', (contentType, body, code) => {
    const r = readRequestBody(body, contentType);
    expect(r).toMatchObject({ readable: false, code });
    if (!r.readable) expect(r.message).toMatch(/JSON or YAML|cannot be read/);
  });

  // Bodies whose labels the old code did not see or saw differently from the API server.
  it.each([
    // Go merges a repeated object into one struct; JavaScript keeps the last: labels would be lost.
    ['application/json', '{"metadata":{"labels":{"privileged":"true"}},"metadata":{"name":"x"}}'],
    ['application/json', '{"metadata":{"labels":{"a":"1"},"labels":{"b":"2"}}}'],
    // YAML 1.1 keys that the API server turns into other strings ("true", "31").
    ['application/yaml', 'metadata:\n  labels:\n    on: x\n'],
    ['application/yaml', 'metadata:\n  labels:\n    0x1f: x\n'],
    ['application/yaml', 'metadata:\n  labels:\n    ? {a: b}\n    : x\n'],
    ['application/apply-patch+yaml', 'metadata:\n  labels: {privileged: yes}\n'],
    // Values go-yaml reads its own way.
    ['application/yaml', 'metadata:\n  labels:\n    privileged: !!binary dHJ1ZQ==\n'],
    ['application/yaml', 'a: 1\n---\nmetadata: {labels: {privileged: "true"}}\n'],
    ['application/yaml', 'metadata: {labels: {a: x, a: y}}\n'],
    // A JSON patch that takes labels from the stored object.
    ['application/json-patch+json', JSON.stringify([{ op: 'copy', from: '/metadata/annotations', path: '/metadata/labels' }])],
    ['application/json-patch+json', JSON.stringify([{ op: 'move', from: '/metadata/annotations/x', path: '/metadata/labels/privileged' }])],
  ])('refuses to guess: %s %s', (contentType, body) => {
    expect(read(body, contentType)).toMatchObject({ readable: false, code: 400, reason: 'BadRequest' });
  });

  it('an empty body sets nothing', () => {
    expect(readRequestBody(undefined, 'application/vnd.kubernetes.protobuf')).toEqual({ readable: true });
    expect(readRequestBody(Buffer.alloc(0), 'application/json')).toEqual({ readable: true });
  });

  it('finds a repeated key in any object of a JSON text, comparing decoded keys', () => {
    expect(repeatedJsonKey('{"a":1,"b":{"c":[{"d":1,"d":2}]}}')).toBe('d');
    expect(repeatedJsonKey('{"a":1,"\\u0061":2}')).toBe('a');
    expect(repeatedJsonKey('{"a":"{\\"a\\":1}","b":["a","a"]}')).toBeUndefined();
    expect(repeatedJsonKey('[{"a":1},{"a":2}]')).toBeUndefined();
  });
});
