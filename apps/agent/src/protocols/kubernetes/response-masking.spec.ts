import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { requestAttributes } from './request-attributes.js';
import { identityOnly, responseMasking } from './response-masking.js';

const KEY = Buffer.alloc(32, 7);
const rules = {
  entities: [{ entity: 'email' as const, style: 'partial' as const }],
  columns: [
    { table: 'secrets', column: 'data', style: 'full' as const },
    { table: 'secrets', column: 'stringData', style: 'full' as const },
  ],
};
const PASSWORD = Buffer.from('hunter2-secret').toString('base64');
const secret = {
  kind: 'Secret', apiVersion: 'v1', type: 'Opaque',
  metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"stringData":{"password":"hunter2-secret"}}' } },
  data: { password: PASSWORD },
  stringData: { token: 'plain' },
};

async function through(url: string, contentType: string, streaming: boolean, chunks: (string | Buffer)[]): Promise<string> {
  const t = responseMasking(rules, KEY)!.transformFor(requestAttributes('GET', url), contentType, streaming)!;
  return text(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).pipe(t));
}

describe('masking of Kubernetes answers', () => {
  it('masks every value of data and stringData of a Secret, and its last-applied-configuration', async () => {
    const out = JSON.parse(await through('/api/v1/namespaces/d/secrets/s', 'application/json', false, [JSON.stringify(secret)])) as typeof secret;
    expect(Object.keys(out.data)).toEqual(['password']);
    expect(out.data.password).not.toBe(PASSWORD);
    expect(out.stringData.token).not.toBe('plain');
    expect(JSON.stringify(out)).not.toContain('hunter2');
  });

  it('masks Secrets in lists, Table rows with objects and watch events, whatever the chunking', async () => {
    const list = JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', metadata: {}, items: [{ ...secret, kind: undefined, apiVersion: undefined }] });
    expect(await through('/api/v1/secrets', 'application/json', false, [list.slice(0, 10), list.slice(10)])).not.toContain(PASSWORD);
    const table = JSON.stringify({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', rows: [{ cells: ['s'], object: secret }] });
    expect(await through('/api/v1/namespaces/d/secrets', 'application/json;as=Table;v=v1;g=meta.k8s.io', false, [table])).not.toContain(PASSWORD);
    const events = `${JSON.stringify({ type: 'ADDED', object: secret })}\n${JSON.stringify({ type: 'MODIFIED', object: secret })}\n`;
    for (let cut = 0; cut <= events.length; cut += 37) {
      const out = await through('/api/v1/namespaces/d/secrets?watch=1', 'application/json;stream=watch', true, [events.slice(0, cut), events.slice(cut)]);
      expect(out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['ADDED', 'MODIFIED']);
      expect(out).not.toContain(PASSWORD);
    }
  });

  it('drops the last-applied-configuration of a Secret in metadata-only views (Table rows, PartialObjectMetadata, their watch events), where data is absent', async () => {
    const meta = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: secret.metadata };
    const table = JSON.stringify({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', columnDefinitions: [{ name: 'Name' }], rows: [{ cells: ['s'], object: meta }] });
    const tableType = 'application/json;as=Table;v=v1;g=meta.k8s.io';
    expect(await through('/api/v1/namespaces/d/secrets', tableType, false, [table])).not.toContain('hunter2');
    expect(await through('/api/v1/namespaces/d/secrets?watch=1', `${tableType};stream=watch`, true, [`${JSON.stringify({ type: 'ADDED', object: JSON.parse(table) as unknown })}\n`])).not.toContain('hunter2');
    expect(await through('/api/v1/namespaces/d/secrets/s', 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io', false, [JSON.stringify(meta)])).not.toContain('hunter2');
    const list = JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: {}, items: [meta] });
    expect(await through('/api/v1/secrets', 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', false, [list])).not.toContain('hunter2');
    // Objects of resources no column rule names keep it (nothing of theirs is masked by column).
    const cm = JSON.stringify({ ...meta, metadata: { name: 'c', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"k":"v1"}}' } } });
    expect(await through('/api/v1/namespaces/d/configmaps/c', 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io', false, [cm])).toContain('{\\"k\\":\\"v1\\"}');
  });

  it('reduces the answer to a write the principal may not read to the identity of its objects; a Status stays; anything else is cut off', async () => {
    const reduce = (contentType: string, doc: string) => text(Readable.from([Buffer.from(doc)]).pipe(identityOnly(contentType, 'k8s:get denied')));
    const out = JSON.parse(await reduce('application/json', JSON.stringify(secret))) as Record<string, unknown>;
    expect(out).toEqual({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 's' } });
    const list = JSON.parse(await reduce('application/json', JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', metadata: {}, items: [secret] }))) as { items: unknown[] };
    expect(list.items).toEqual([{ kind: 'Secret', apiVersion: 'v1', metadata: { name: 's' } }]);
    const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'not found', code: 404 };
    expect(JSON.parse(await reduce('application/json', JSON.stringify(status)))).toEqual(status);
    await expect(reduce('application/yaml', 'data:\n  password: aHVudGVy\n')).rejects.toThrow(/cannot be reduced/);
  });

  it('applies column rules named by the resource asked for, whatever plural the kind would make (Endpoints, a custom resource naming its own)', async () => {
    const crdRules = { entities: [], columns: [{ table: 'dbcreds', column: 'spec', style: 'full' as const }, { table: 'endpoints', column: 'subsets', style: 'full' as const }] };
    const mask = (url: string, doc: unknown) => text(Readable.from([Buffer.from(JSON.stringify(doc))]).pipe(responseMasking(crdRules, KEY)!.transformFor(requestAttributes('GET', url), 'application/json', false)!));
    const cred = { kind: 'DatabaseCredential', apiVersion: 'example.com/v1', metadata: { name: 'x' }, spec: { password: 'hunter2-secret' } };
    expect(await mask('/apis/example.com/v1/namespaces/d/dbcreds/x', cred)).not.toContain('hunter2');
    expect(await mask('/apis/example.com/v1/namespaces/d/dbcreds', { kind: 'DatabaseCredentialList', apiVersion: 'example.com/v1', metadata: {}, items: [{ metadata: { name: 'x' }, spec: cred.spec }] })).not.toContain('hunter2');
    const endpoints = { kind: 'Endpoints', apiVersion: 'v1', metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.1.2.3' }] }] };
    expect(await mask('/api/v1/namespaces/d/endpoints/e', endpoints)).not.toContain('10.1.2.3');
    expect(await mask('/api/v1/namespaces/d/endpoints', { kind: 'EndpointsList', apiVersion: 'v1', metadata: {}, items: [endpoints] })).not.toContain('10.1.2.3');
  });

  it('runs the recognizers over ConfigMaps and log lines, a character split between chunks included', async () => {
    const cm = JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'c' }, data: { owner: 'alice@example.com' } });
    expect(await through('/api/v1/namespaces/d/configmaps/c', 'application/json', false, [cm])).not.toContain('alice@example.com');
    const line = Buffer.from('héllo from bob@example.com\n');
    const split = line.indexOf(0xa9); // inside the two bytes of é
    const out = await through('/api/v1/namespaces/d/pods/p/log', 'text/plain', true, [line.subarray(0, split), line.subarray(split)]);
    expect(out).toMatch(/^héllo from b\*+@example\.com\n$/);
  });

  it('masks keys, numbers that are cards, bare digits a field or a Table column names (a CRD), and base64 Secret values under such a key', async () => {
    const all = { entities: (['email', 'card', 'ssn', 'phone'] as const).map((entity) => ({ entity, style: 'full' as const })), columns: [] };
    const through2 = (url: string, doc: unknown) => text(Readable.from([Buffer.from(JSON.stringify(doc))]).pipe(responseMasking(all, KEY)!.transformFor(requestAttributes('GET', url), 'application/json', false)!));
    const cr = {
      kind: 'Customer', apiVersion: 'crm.example.com/v1', metadata: { name: 'c1' },
      spec: { owners: { 'ada@example.com': { role: 'admin' } }, card: 4111111111111111, ssn: '536221234', replicas: 536221234 },
    };
    expect(JSON.parse(await through2('/apis/crm.example.com/v1/namespaces/d/customers/c1', cr))).toEqual({
      ...cr, spec: { owners: { '***@*******.***': { role: 'admin' } }, card: null, ssn: '*********', replicas: 536221234 },
    });
    const table = {
      kind: 'Table', apiVersion: 'meta.k8s.io/v1', columnDefinitions: [{ name: 'Name', type: 'string' }, { name: 'SSN', type: 'string' }, { name: 'Age', type: 'integer' }],
      rows: [{ cells: ['c1', '536221234', 536221234], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'c1' } } }],
    };
    const maskedTable = JSON.parse(await through2('/apis/crm.example.com/v1/namespaces/d/customers', table)) as typeof table;
    expect(maskedTable.rows[0]!.cells).toEqual(['c1', '*********', 536221234]);
    const cm = { kind: 'Secret', apiVersion: 'v1', metadata: { name: 's' }, data: { customer_ssn: Buffer.from('536221234').toString('base64'), id: Buffer.from('536221234').toString('base64') } };
    const maskedSecret = JSON.parse(await through2('/api/v1/namespaces/d/secrets/s', cm)) as typeof cm;
    expect(Buffer.from(maskedSecret.data.customer_ssn, 'base64').toString()).toBe('*********');
    expect(maskedSecret.data.id).toBe(cm.data.id);
  });

  it('never passes an answer it cannot read (protobuf)', async () => {
    await expect(through('/api/v1/namespaces/d/secrets/s', 'application/vnd.kubernetes.protobuf', false, [Buffer.from([0x6b, 0x38, 0x73, 0])])).rejects.toThrow(/cannot be masked/);
  });

  it('has nothing to do without masking rules', () => {
    expect(responseMasking({ entities: [], columns: [] }, KEY)).toBeUndefined();
  });
});
