import { describe, expect, it } from 'vitest';
import { upstreamHeaders } from './kubernetes-handler.js';

const auth = { ca: '', headers: { authorization: 'Bearer sa-token' }, describe: {} };

describe('headers the agent sends to the API server', () => {
  it('replaces the client credential, drops impersonation, compression and protobuf', () => {
    const out = upstreamHeaders({
      authorization: 'Bearer client-oidc-token',
      'impersonate-user': 'system:admin',
      'impersonate-group': 'system:masters',
      'impersonate-extra-scopes': 'x',
      'impersonate-uid': '1',
      'x-remote-user': 'system:admin',
      'x-remote-group': 'system:masters',
      'x-remote-extra-scopes': 'x',
      cookie: 'a=b',
      'accept-encoding': 'gzip',
      accept: 'application/vnd.kubernetes.protobuf, application/json',
      'content-type': 'application/json',
      'user-agent': 'kubectl/v1.33',
      host: 'gateway:16443',
    }, auth, false);
    expect(out).toEqual({ authorization: 'Bearer sa-token', accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'kubectl/v1.33' });
  });

  it('asks JSON when the client asked protobuf only, and keeps Table and discovery media types', () => {
    expect(upstreamHeaders({ accept: 'application/vnd.kubernetes.protobuf' }, auth, false).accept).toBe('application/json');
    const table = 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json';
    expect(upstreamHeaders({ accept: table }, auth, false).accept).toBe(table);
  });
});
