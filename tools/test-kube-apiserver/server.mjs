// A TEST DOUBLE of a Kubernetes API server, for the gateway's tests and the quick start. No real
// API server can be installed on the project's machines, so this one speaks the real wire protocol
// for what the tests use: discovery, CRUD and Table output for pods, secrets, configmaps,
// serviceaccounts, deployments and namespaces, watch, logs (also -f), exec and attach over
// WebSocket (v5.channel.k8s.io and v4), port-forward over WebSocket (v4.channel.k8s.io, the
// kubelet's channel protocol; each pod port echoes what it gets), SPDY refused with a clear error,
// and TokenRequest. It
// authenticates bearer tokens (the agent's own token and the tokens it minted) and honours
// Impersonate-* headers from the agent only, and it records what credentials and impersonation
// headers every request carried, so tests can check what reached the "cluster". It does no RBAC.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { parse as parseYaml } from 'yaml';
import { GROUPS, RESOURCES, Store, resourceInfo } from './store.mjs';

const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** Port-forward over WebSocket as the kubelet serves it (binary channels). Not kubectl's tunnelled SPDY (`SPDY/3.1+portforward.k8s.io`). */
const PORTFORWARD_PROTOCOLS = ['v4.channel.k8s.io'];

function makeCertificate(dir) {
  const key = join(dir, 'apiserver.key');
  const cert = join(dir, 'apiserver.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '30', '-subj', '/CN=test-kube-apiserver', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:kubernetes'], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert), certFile: cert };
}

function status(code, reason, message, extra = {}) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: code < 400 ? 'Success' : 'Failure', message, reason, code, ...extra };
}

function send(res, code, body, contentType = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const JSON_TYPES = new Set(['', 'application/json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json']);
const YAML_TYPES = new Set(['application/yaml', 'application/apply-patch+yaml']);

/** A request body as JSON or YAML, by its media type; anything else (protobuf, CBOR) is refused. */
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (text === '') return resolve({});
      try {
        if (JSON_TYPES.has(type)) return resolve(JSON.parse(text));
        if (YAML_TYPES.has(type)) return resolve(parseYaml(text));
      } catch {
        // refused below
      }
      reject(Object.assign(new Error('the test API server reads JSON and YAML request bodies only'), { contentType: req.headers['content-type'] }));
    });
    req.on('error', reject);
  });
}

/** RFC 6902 add, replace and remove on object members (what the tests send). */
function applyJsonPatch(object, ops) {
  const copy = structuredClone(object);
  for (const op of ops) {
    const path = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = path.pop();
    let parent = copy;
    for (const part of path) parent = parent[part] ??= {};
    if (op.op === 'remove') delete parent[last];
    else if (op.op === 'add' || op.op === 'replace') parent[last] = op.value;
  }
  return copy;
}

/** A merge of `patch` into `existing` (objects merged, labels too), as merge patches and apply roughly do. */
function mergeObject(existing, patch) {
  return { ...existing, ...patch, metadata: { ...existing.metadata, ...(patch.metadata ?? {}), labels: { ...(existing.metadata.labels ?? {}), ...(patch.metadata?.labels ?? {}) } } };
}

function wantsTable(accept) {
  return /as=Table/.test(accept ?? '');
}

function table(info, objects, includeObject) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: '' },
    columnDefinitions: [{ name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 }, ...info.columns.map((c) => ({ name: c, type: 'string', format: '', description: c, priority: 0 })), { name: 'Age', type: 'string', format: '', description: 'Age', priority: 0 }],
    rows: objects.map((o) => ({
      cells: [o.metadata.name, ...info.cells(o), '1m'],
      object: includeObject === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

/**
 * Starts the double on 127.0.0.1 (port 0 = any). `agentToken`: the token the gateway agent uses
 * (allowed to impersonate and to ask for service account tokens). `realExec: false` makes exec
 * answer `echo` only, for the quick start (its pods would otherwise run commands on this host). Returns its URL, CA, recorded
 * requests, minted tokens, the object store, and close().
 */
export async function startTestApiServer({ port = 0, agentToken = `agent-${randomBytes(12).toString('hex')}`, logLines = 3, stateDir, realExec = true } = {}) {
  /** RBAC the double applies: requests of `user` with `method` under `pathPrefix` are refused (403), as a missing role would. */
  const denied = [];
  // stateDir: where the certificate goes (kept); by default a scratch directory removed at close.
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'test-kube-apiserver-'));
  const tls = makeCertificate(dir);
  const store = new Store();
  store.seed();
  /** token -> { user, groups, expiresAt } */
  const tokens = new Map([[agentToken, { user: 'system:serviceaccount:gw:agent', groups: ['system:serviceaccounts'], expiresAt: Infinity, agent: true }]]);
  const requests = [];
  const live = new Set();

  function authenticate(req) {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const presented = match?.[1];
    const record = {
      method: req.method, path: req.url, token: presented ?? null, accept: req.headers.accept ?? null,
      impersonateUser: req.headers['impersonate-user'] ?? null,
      // Each Impersonate-Group header line is one group (headersDistinct keeps them apart).
      impersonateGroups: req.headersDistinct['impersonate-group'] ?? [],
      clientCertificate: req.socket.getPeerCertificate?.()?.subject?.CN ?? null,
      userAgent: req.headers['user-agent'] ?? null,
    };
    requests.push(record);
    const entry = presented ? tokens.get(presented) : undefined;
    if (!entry) return { error: 'Unauthorized', record };
    if (entry.expiresAt < Date.now()) return { error: 'Unauthorized', record };
    let user = entry.user;
    let groups = entry.groups;
    if (record.impersonateUser) {
      if (!entry.agent) return { forbidden: `User "${entry.user}" cannot impersonate resource "users" in API group ""`, record };
      user = record.impersonateUser;
      groups = record.impersonateGroups;
    } else if (record.impersonateGroups.length > 0) {
      return { forbidden: 'requested impersonation of groups without a user', record };
    }
    record.user = user;
    record.groups = groups;
    const path = req.url.split('?')[0];
    const rule = denied.find((r) => r.user === user && (r.method === undefined || r.method === req.method) && path.startsWith(r.pathPrefix));
    if (rule) return { forbidden: `User "${user}" cannot ${req.method.toLowerCase()} ${path} (a rule of the test API server)`, record };
    return { user, groups, entry, record };
  }

  function discovery(req, res, path) {
    if (path === '/version') return send(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0-gateway-test-double', platform: 'linux/amd64' });
    if (path === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:443' }] });
    if (path === '/apis') {
      const groups = GROUPS.map((gv) => {
        const [name, version] = gv.split('/');
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
      return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const served = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
    const groupVersion = served === 'v1' ? { group: '', version: 'v1', gv: 'v1' } : GROUPS.includes(served) ? { group: served.split('/')[0], version: served.split('/')[1], gv: served } : undefined;
    if (!groupVersion) return false;
    const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
    const resources = RESOURCES.filter((r) => r.group === groupVersion.group).flatMap((r) => {
      const main = { name: r.resource, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs };
      if (r.resource === 'pods') {
        return [main, { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] }, { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] }, { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] }, { name: 'pods/portforward', singularName: '', namespaced: true, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] }];
      }
      if (r.resource === 'serviceaccounts') return [main, { name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }];
      if (r.resource === 'namespaces') return [{ ...main, shortNames: ['ns'] }];
      if (r.resource === 'configmaps') return [{ ...main, shortNames: ['cm'] }];
      if (r.resource === 'deployments') return [{ ...main, shortNames: ['deploy'] }];
      if (r.resource === 'certificatesigningrequests') {
        return [{ ...main, shortNames: ['csr'] }, { name: 'certificatesigningrequests/approval', singularName: '', namespaced: false, kind: 'CertificateSigningRequest', verbs: ['get', 'patch', 'update'] }, { name: 'certificatesigningrequests/status', singularName: '', namespaced: false, kind: 'CertificateSigningRequest', verbs: ['get', 'patch', 'update'] }];
      }
      return [main];
    });
    send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion.gv, resources });
    return true;
  }

  function parseResourcePath(path) {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group = '';
    let rest;
    if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
    else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1];
      rest = parts.slice(3);
    } else return undefined;
    const version = parts[0] === 'api' ? 'v1' : parts[2];
    let namespace = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const info = resourceInfo(group, version, rest[0]);
    if (!info) return { unknown: rest[0] };
    return { info, namespace, name: rest[1], subresource: rest[2] };
  }

  async function handle(req, res) {
    const auth = authenticate(req);
    if (auth.error) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    if (auth.forbidden) return send(res, 403, status(403, 'Forbidden', auth.forbidden));
    const url = new URL(req.url, 'https://x');
    const path = url.pathname;
    if (req.method === 'GET' && discovery(req, res, path) !== false) return;
    const target = parseResourcePath(path);
    if (!target) return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (target.unknown) return send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${target.unknown})`));
    const { info, namespace, name, subresource } = target;
    const accept = req.headers.accept ?? '';
    if (/protobuf/.test(accept) && !/json/.test(accept)) return send(res, 406, status(406, 'NotAcceptable', 'the test API server answers JSON only'));

    if (subresource === 'token' && info.resource === 'serviceaccounts' && req.method === 'POST') {
      if (!auth.entry.agent) return send(res, 403, status(403, 'Forbidden', `User "${auth.user}" cannot create resource "serviceaccounts/token"`));
      if (!store.get(info, namespace, name)) return send(res, 404, status(404, 'NotFound', `serviceaccounts "${name}" not found`, { details: { name, kind: 'serviceaccounts' } }));
      let body;
      try {
        body = await readBody(req);
      } catch (error) {
        return send(res, 415, status(415, 'UnsupportedMediaType', `${error.message} (got ${error.contentType})`));
      }
      const seconds = body?.spec?.expirationSeconds ?? 3600;
      if (seconds < 600) return send(res, 400, status(400, 'BadRequest', 'spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes'));
      const token = `sa-${randomBytes(16).toString('hex')}`;
      const expiresAt = Date.now() + seconds * 1000;
      tokens.set(token, { user: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`], expiresAt, serviceAccount: `${namespace}/${name}`, expirationSeconds: seconds });
      return send(res, 201, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name, namespace }, spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: seconds }, status: { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') } });
    }

    if (subresource === 'log' && info.resource === 'pods' && req.method === 'GET') {
      const pod = store.get(info, namespace, name);
      if (!pod) return send(res, 404, status(404, 'NotFound', `pods "${name}" not found`));
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 1; i <= logLines; i += 1) res.write(`${new Date().toISOString()} line ${i} of ${name}: request from bob@example.com\n`);
      if (url.searchParams.get('follow') !== 'true') return res.end();
      let n = logLines;
      const timer = setInterval(() => res.write(`${new Date().toISOString()} line ${(n += 1)} of ${name}: request from bob@example.com\n`), 200);
      live.add(res);
      res.on('close', () => {
        clearInterval(timer);
        live.delete(res);
      });
      return;
    }
    if (subresource === 'approval' && info.resource === 'certificatesigningrequests' && req.method === 'PUT') {
      const csr = store.get(info, '', name);
      if (!csr) return send(res, 404, status(404, 'NotFound', `certificatesigningrequests.certificates.k8s.io "${name}" not found`));
      let body;
      try {
        body = await readBody(req);
      } catch (error) {
        return send(res, 415, status(415, 'UnsupportedMediaType', `${error.message} (got ${error.contentType})`));
      }
      return send(res, 200, store.put(info, '', { ...csr, status: { ...(csr.status ?? {}), conditions: body?.status?.conditions ?? [] } }, 'MODIFIED'));
    }
    if (subresource) return send(res, 404, status(404, 'NotFound', `subresource ${subresource} is not served by the test API server`));

    if (req.method === 'GET' && !name) {
      const watch = ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
      const selector = /^metadata\.name=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '');
      const items = store.list(info, namespace).filter((o) => !selector || o.metadata.name === selector[1]);
      if (!watch) {
        if (wantsTable(accept)) return send(res, 200, table(info, items, url.searchParams.get('includeObject')), 'application/json;as=Table;v=v1;g=meta.k8s.io');
        return send(res, 200, { kind: `${info.kind}List`, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, metadata: { resourceVersion: String(store.rv) }, items });
      }
      res.writeHead(200, { 'content-type': wantsTable(accept) ? 'application/json;as=Table;v=v1;g=meta.k8s.io;stream=watch' : 'application/json;stream=watch', 'transfer-encoding': 'chunked' });
      const asTable = wantsTable(accept);
      const includeObject = url.searchParams.get('includeObject');
      const watcher = {
        info, namespace, name: selector?.[1],
        send: (type, object) => res.write(`${JSON.stringify({ type, object: asTable ? table(info, [object], includeObject) : object })}\n`),
      };
      const since = url.searchParams.get('resourceVersion');
      if (!since || since === '0') for (const o of items) watcher.send('ADDED', o);
      store.watchers.add(watcher);
      live.add(res);
      res.on('close', () => {
        store.watchers.delete(watcher);
        live.delete(res);
      });
      return;
    }
    if (req.method === 'GET') {
      const object = store.get(info, namespace, name);
      if (!object) return send(res, 404, status(404, 'NotFound', `${info.resource} "${name}" not found`, { details: { name, kind: info.resource } }));
      if (wantsTable(accept)) return send(res, 200, table(info, [object], url.searchParams.get('includeObject')), 'application/json;as=Table;v=v1;g=meta.k8s.io');
      return send(res, 200, object);
    }
    if (req.method === 'POST') {
      let body;
      try {
        body = await readBody(req);
      } catch (error) {
        return send(res, 415, status(415, 'UnsupportedMediaType', `${error.message} (got ${error.contentType})`));
      }
      const objectName = body?.metadata?.name;
      if (!objectName) return send(res, 422, status(422, 'Invalid', 'metadata.name: Required value'));
      if (store.get(info, namespace, objectName)) return send(res, 409, status(409, 'AlreadyExists', `${info.resource} "${objectName}" already exists`, { details: { name: objectName, kind: info.resource } }));
      if (url.searchParams.get('dryRun') === 'All') return send(res, 201, { ...body, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, kind: info.kind });
      return send(res, 201, store.put(info, namespace, body, 'ADDED'));
    }
    if (req.method === 'PUT' || req.method === 'PATCH') {
      const existing = store.get(info, namespace, name);
      const apply = req.method === 'PATCH' && (req.headers['content-type'] ?? '').startsWith('application/apply-patch+');
      // A PUT creates where the resource allows it; server-side apply creates whatever it names.
      const creates = !existing && (apply || (req.method === 'PUT' && info.allowCreateOnUpdate));
      if (!existing && !creates) return send(res, 404, status(404, 'NotFound', `${info.resource} "${name}" not found`, { details: { name, kind: info.resource } }));
      let body;
      try {
        body = await readBody(req);
      } catch (error) {
        return send(res, 415, status(415, 'UnsupportedMediaType', `${error.message} (got ${error.contentType})`));
      }
      if (creates) return send(res, 201, store.put(info, namespace, { ...body, metadata: { ...(body.metadata ?? {}), name } }, 'ADDED'));
      const jsonPatch = (req.headers['content-type'] ?? '').startsWith('application/json-patch+json');
      const merged = req.method === 'PUT' ? body : jsonPatch ? applyJsonPatch(existing, body) : mergeObject(existing, body);
      return send(res, 200, store.put(info, namespace, { ...merged, metadata: { ...merged.metadata, name } }, 'MODIFIED'));
    }
    if (req.method === 'DELETE') {
      const gone = store.remove(info, namespace, name);
      if (!gone) return send(res, 404, status(404, 'NotFound', `${info.resource} "${name}" not found`, { details: { name, kind: info.resource } }));
      return send(res, 200, info.resource === 'pods' ? gone : status(200, undefined, undefined, { details: { name, kind: info.resource, uid: gone.metadata.uid } }));
    }
    return send(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported`));
  }

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false });
  const portForwardWss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => PORTFORWARD_PROTOCOLS.find((p) => offered.has(p)) ?? false });
  const server = createServer({ key: tls.key, cert: tls.cert, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    handle(req, res).catch((error) => send(res, 500, status(500, 'InternalError', error.message)));
  });
  server.on('upgrade', (req, socket, head) => {
    const reject = (code, reason, message) => {
      const body = JSON.stringify(status(code, reason, message));
      socket.end(`HTTP/1.1 ${code} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    const auth = authenticate(req);
    if (auth.error) return reject(401, 'Unauthorized', 'Unauthorized');
    if (auth.forbidden) return reject(403, 'Forbidden', auth.forbidden);
    if (!/^websocket$/i.test(req.headers.upgrade ?? '')) return reject(400, 'BadRequest', `the test API server serves exec, attach and port-forward over WebSocket only, not ${req.headers.upgrade}`);
    const url = new URL(req.url, 'https://x');
    const target = parseResourcePath(url.pathname);
    if (!target?.info || target.info.resource !== 'pods' || !['exec', 'attach', 'portforward'].includes(target.subresource)) return reject(404, 'NotFound', 'only pods/exec, pods/attach and pods/portforward upgrade');
    if (!store.get(target.info, target.namespace, target.name)) return reject(404, 'NotFound', `pods "${target.name}" not found`);
    if (target.subresource === 'portforward') {
      const ports = url.searchParams.getAll('ports').flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== '');
      if (ports.length === 0) return reject(400, 'BadRequest', 'at least one port must be given (ports=<port>)');
      const numbers = ports.map(Number);
      const bad = ports.find((p, i) => !/^\d+$/.test(p) || numbers[i] < 1 || numbers[i] > 65535);
      if (bad !== undefined) return reject(400, 'BadRequest', `invalid port "${bad}"`);
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.some((p) => PORTFORWARD_PROTOCOLS.includes(p))) {
        return reject(400, 'BadRequest', `the test API server serves port-forward over WebSocket with ${PORTFORWARD_PROTOCOLS.join(', ')} only (offered: ${offered.join(', ') || 'none'})`);
      }
      return portForwardWss.handleUpgrade(req, socket, head, (ws) => runPortForward(ws, numbers));
    }
    wss.handleUpgrade(req, socket, head, (ws) => runExec(ws, target.subresource, url.searchParams));
  });

  /**
   * Port-forward as the kubelet serves it over WebSocket: port i has data channel 2i and error
   * channel 2i+1; the first message on each carries the port (2 bytes, little-endian). Every
   * message is one channel byte and data. The pod's ports echo what they are sent.
   */
  function runPortForward(ws, ports) {
    const out = (channel, data) => ws.readyState === ws.OPEN && ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
    ports.forEach((port, i) => {
      const bytes = Buffer.alloc(2);
      bytes.writeUInt16LE(port);
      out(2 * i, bytes);
      out(2 * i + 1, bytes);
    });
    ws.on('message', (data) => {
      const channel = data[0];
      if (channel % 2 !== 0 || channel / 2 >= ports.length) return out(channel | 1, `unexpected message on channel ${channel}`);
      if (data.length > 1) out(channel, data.subarray(1));
    });
  }

  /** exec runs the command for real (no shell, in a scratch directory); attach echoes stdin. */
  function runExec(ws, subresource, query) {
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    const out = (channel, data) => ws.readyState === ws.OPEN && ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
    const finish = (code) => {
      out(3, JSON.stringify(code === 0 ? { metadata: {}, status: 'Success' } : { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } }));
      ws.close(1000);
    };
    if (subresource === 'attach') {
      ws.on('message', (data) => {
        if (data[0] === 0) out(1, data.subarray(1));
        if (v5 && data[0] === 255) finish(0);
      });
      return;
    }
    const command = query.getAll('command');
    if (command.length === 0) return finish(1);
    if (!realExec) {
      // The quick start's demo cluster runs on the gateway's own host: it never runs a real process.
      if (command[0] === 'echo') {
        out(1, `${command.slice(1).join(' ')}\n`);
        return finish(0);
      }
      out(2, `the demo cluster is a test double: its pods only run echo, not ${command[0]}\n`);
      return finish(1);
    }
    const child = spawn(command[0], command.slice(1), { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', (error) => {
      out(2, `${error.message}\n`);
      finish(127);
    });
    child.stdout.on('data', (d) => out(1, d));
    child.stderr.on('data', (d) => out(2, d));
    child.on('close', (code) => finish(code ?? 1));
    ws.on('message', (data) => {
      if (data[0] === 0) child.stdin.write(data.subarray(1));
      if (v5 && data[0] === 255 && data[1] === 0) child.stdin.end();
    });
    ws.on('close', () => {
      if (child.exitCode === null) child.kill();
    });
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const boundPort = server.address().port;
  return {
    url: `https://127.0.0.1:${boundPort}`,
    port: boundPort,
    caFile: tls.certFile,
    caPem: tls.cert.toString('utf8'),
    agentToken,
    requests,
    tokens,
    store,
    /** Refuses (403) the requests of `user` with `method` (any when absent) under `pathPrefix`, as RBAC without the role would. */
    deny(rule) {
      denied.push(rule);
    },
    /** Makes every minted service account token expired (as if its expirationSeconds had passed). */
    expireMintedTokens() {
      for (const entry of tokens.values()) if (!entry.agent) entry.expiresAt = 0;
    },
    async close() {
      for (const r of live) r.destroy();
      for (const c of wss.clients) c.terminate();
      for (const c of portForwardWss.clients) c.terminate();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      if (!stateDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
