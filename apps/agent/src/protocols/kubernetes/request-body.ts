import { parseDocument } from 'yaml';
import { mediaType } from './held-requests.js';
import { entriesOf } from './parsed-body.js';
import { ephemeralContainerCommands } from './ephemeral-containers.js';
import { podPrivileges } from './pod-privileges.js';

/**
 * What policy reads of a write's body: the labels it sets on the object and, for a Secret, its
 * type. Read the way the API server reads the body for its media type (JSON, YAML, the three JSON
 * patch forms, server-side apply); a body the gateway cannot read that way is reported as such, so
 * that the caller can fail closed rather than decide on labels it did not see.
 */
export type BodyRead =
  | {
    readable: true;
    /** `metadata.labels` the body sets (key -> value); absent when it sets none. */
    labels?: Record<string, string>;
    /** The object's top-level `type` when it is a string (Secrets). */
    type?: string;
    /**
     * What a pod spec in the body asks for beyond the Pod Security Standards' baseline (host
     * namespaces, hostPath, privileged, added capabilities ...; see pod-privileges.ts), searched in
     * any body; meaningful only for writes to workload kinds. Absent when nothing.
     */
    privileges?: string[];
    /**
     * The commands of the ephemeral containers the body names (see ephemeral-containers.ts); absent when
     * it names none. Meaningful only for writes to `pods/<name>/ephemeralcontainers`.
     */
    ephemeralCommands?: (string[] | null)[];
  }
  | { readable: false; code: 400 | 415; reason: 'BadRequest' | 'UnsupportedMediaType'; message: string };

/** The shapes a body comes in, by media type: what a label in it means differs between them. */
type BodyForm = 'object' | 'merge-patch' | 'strategic-merge-patch' | 'json-patch' | 'apply';

const JSON_FORMS: Record<string, BodyForm> = {
  // No Content-Type: the API server takes the first serializer it has, JSON.
  '': 'object',
  'application/json': 'object',
  'application/merge-patch+json': 'merge-patch',
  'application/strategic-merge-patch+json': 'strategic-merge-patch',
  'application/json-patch+json': 'json-patch',
};
const YAML_FORMS: Record<string, BodyForm> = {
  'application/yaml': 'object',
  'application/apply-patch+yaml': 'apply',
};
/** Binary encodings the API server accepts and the gateway does not decode. */
const BINARY_TYPES = new Set(['application/vnd.kubernetes.protobuf', 'application/cbor', 'application/apply-patch+cbor']);

const HOW_TO_SEND = 'send it as JSON or YAML (kubectl create|replace|apply -f <file> does; for kubectl create <kind> ... add --dry-run=client -o yaml | kubectl create -f -)';

/**
 * Reads a request body as the API server would for `contentType`. An empty body sets nothing.
 * Unreadable: binary encodings (protobuf, CBOR), unknown media types, malformed JSON or YAML, JSON
 * with a key twice (Go merges repeated objects into one struct where JavaScript keeps the last), YAML
 * whose label keys are not plain strings, and JSON patches that move or copy something into the labels.
 */
export function readRequestBody(body: Buffer | undefined, contentType: string | undefined): BodyRead {
  if (!body || body.length === 0) return { readable: true };
  const type = mediaType(contentType);
  const jsonForm = JSON_FORMS[type];
  if (jsonForm !== undefined) return readJsonBody(body, type, jsonForm);
  const yamlForm = YAML_FORMS[type];
  if (yamlForm !== undefined) return readYamlBody(body, type, yamlForm);
  const what = BINARY_TYPES.has(type) ? `${type}, which the gateway does not decode` : `of media type "${type.slice(0, 100)}", which the gateway does not read`;
  return { readable: false, code: 415, reason: 'UnsupportedMediaType', message: `the request body is ${what}; ${HOW_TO_SEND}` };
}

function malformed(type: string, problem: string): BodyRead {
  return { readable: false, code: 400, reason: 'BadRequest', message: `the ${type || 'JSON'} body cannot be read: ${problem.slice(0, 300)}` };
}

function readJsonBody(body: Buffer, type: string, form: BodyForm): BodyRead {
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return malformed(type, (error as Error).message);
  }
  const repeated = repeatedJsonKey(text);
  if (repeated !== undefined) return malformed(type, `the key "${repeated.slice(0, 100)}" appears twice in one object (the API server would merge both)`);
  if (form === 'json-patch') return withPodSpec(labelsFromJsonPatch(value, type), jsonPatchPrivileges(value), placedValues(value));
  return withPodSpec(fromObject(value, form, type), podPrivileges(value), [value]);
}

function withPodSpec(read: BodyRead, privileges: string[], values: readonly unknown[]): BodyRead {
  if (!read.readable) return read;
  const ephemeralCommands = ephemeralContainerCommands(values);
  return {
    ...read,
    ...(privileges.length > 0 ? { privileges } : {}),
    ...(ephemeralCommands ? { ephemeralCommands } : {}),
  };
}

/** Each `add` or `replace` value of a JSON patch placed at its path (array indices and `-` as lists). */
function placedValues(ops: unknown): unknown[] {
  if (!Array.isArray(ops)) return [];
  const placed: unknown[] = [];
  for (const op of ops) {
    const kind = field(op, 'op');
    if (kind !== 'add' && kind !== 'replace') continue;
    let value: unknown = field(op, 'value');
    for (const segment of [...(pointer(field(op, 'path')) ?? [])].reverse()) value = /^(\d+|-)$/.test(segment) ? [value] : { [segment]: value };
    placed.push(value);
  }
  return placed;
}

/**
 * What a JSON patch asks for: each `add` or `replace` value placed at its path (array indices and
 * `-` as lists), searched like an object. A `move` or `copy` brings a value from the stored object,
 * which the gateway does not see, so it counts as asking for anything.
 */
function jsonPatchPrivileges(ops: unknown): string[] {
  if (!Array.isArray(ops)) return [];
  const found = new Set<string>();
  for (const op of ops) {
    const kind = field(op, 'op');
    if (kind === 'move' || kind === 'copy') found.add(`a JSON patch "${kind}" (its value comes from the stored object, which the gateway does not see)`);
  }
  for (const placed of placedValues(ops)) for (const what of podPrivileges(placed)) found.add(what);
  return [...found];
}

/**
 * The YAML 1.1 types the API server's YAML library (go-yaml v2) gives a plain value: `on`, `yes` are
 * booleans and `0x1f` a number there too. Timestamps and sexagesimal numbers (`1:20`) it leaves as
 * the text they are, so they stay strings here; `!!binary`, `!!set`, `!!omap` and `!!pairs` it reads
 * its own way, so they are left unresolved here, which makes the body unreadable.
 */
const YAML_TAGS = new Set(['map', 'seq', 'str', 'null', 'bool', 'int', 'float', 'merge'].map((t) => `tag:yaml.org,2002:${t}`));

function readYamlBody(body: Buffer, type: string, form: BodyForm): BodyRead {
  const doc = parseDocument(body.toString('utf8'), {
    version: '1.1',
    customTags: (tags) => tags.filter((t) => typeof t !== 'string' && YAML_TAGS.has(t.tag) && t.format !== 'TIME'),
    uniqueKeys: true,
    prettyErrors: false,
  });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) return malformed(type, problem.message.split('\n')[0] ?? problem.message);
  let value: unknown;
  try {
    value = doc.toJS({ mapAsMap: true, maxAliasCount: 100 });
  } catch (error) {
    return malformed(type, (error as Error).message);
  }
  return withPodSpec(fromObject(value, form, type), podPrivileges(value), [value]);
}

function field(value: unknown, name: string): unknown {
  return entriesOf(value)?.find(([key]) => key === name)?.[1];
}

/**
 * A key that is not a string (`on: x`, `0x1f: y`, `~: z` in YAML) becomes one on the API server
 * ("true", "31", ...): which one is not guessed, in the object, its `metadata` and its labels.
 */
function nonStringKey(value: unknown): unknown {
  return entriesOf(value)?.find(([key]) => typeof key !== 'string')?.[0];
}

/** `metadata.labels` and `type` of an object, a merge patch or an apply configuration. */
function fromObject(value: unknown, form: BodyForm, type: string): BodyRead {
  const metadata = field(value, 'metadata');
  const labels = field(metadata, 'labels');
  for (const map of [value, metadata, labels]) {
    const key = nonStringKey(map);
    if (key === undefined) continue;
    const shown = typeof key === 'object' && key !== null ? '(a mapping or sequence)' : JSON.stringify(key).slice(0, 100);
    return malformed(type, `the key ${shown} is not a string (quote it)`);
  }
  const read: BodyRead = { readable: true };
  const objectType = field(value, 'type');
  if (typeof objectType === 'string') read.type = objectType;
  const entries = entriesOf(labels);
  if (!entries) return read;
  const out: Record<string, string> = {};
  for (const [key, label] of entries as [string, unknown][]) {
    if (form === 'strategic-merge-patch' && key.startsWith('$')) continue; // a patch directive ($patch, $retainKeys)
    if (typeof label === 'string') out[key] = label;
    // null deletes the label in a merge patch; in an object it is the empty value (Go decodes it so).
    else if (label === null) {
      if (form === 'object' || form === 'apply') out[key] = '';
    } else {
      // A number or boolean is no label value (the API server refuses it), and YAML's binary or
      // tagged values it might read as text: not decided on without them.
      return malformed(type, `the label ${key.slice(0, 100)} has a value that is not a string (quote it)`);
    }
  }
  read.labels = out;
  return read;
}

/** The segments of a JSON pointer (`/metadata/labels/app.kubernetes.io~1name`); undefined if it is not one. */
function pointer(path: unknown): string[] | undefined {
  if (typeof path !== 'string') return undefined;
  if (path === '') return [];
  if (!path.startsWith('/')) return undefined;
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Where a pointer lands relative to the labels. */
type Target = { at: 'root' | 'metadata' | 'labels' } | { at: 'label'; key: string } | { at: 'elsewhere' };

function targetOf(segments: string[] | undefined): Target {
  if (!segments) return { at: 'elsewhere' };
  if (segments.length === 0) return { at: 'root' };
  if (segments[0] !== 'metadata') return { at: 'elsewhere' };
  if (segments.length === 1) return { at: 'metadata' };
  if (segments[1] !== 'labels') return { at: 'elsewhere' };
  if (segments.length === 2) return { at: 'labels' };
  return segments.length === 3 ? { at: 'label', key: segments[2]! } : { at: 'elsewhere' };
}

/**
 * The labels a JSON patch (RFC 6902) sets, applying its operations in order: `add` and `replace` of
 * a label, of the labels, of `metadata` or of the whole object; `remove` takes them away again. A
 * `move` or `copy` into them brings a value from elsewhere in the stored object, which the gateway
 * does not have: unreadable.
 */
function labelsFromJsonPatch(ops: unknown, type: string): BodyRead {
  if (!Array.isArray(ops)) return { readable: true };
  const labels = new Map<string, string>();
  let touched = false;
  const setAll = (value: unknown): BodyRead => {
    labels.clear();
    const read = fromObject(value, 'object', type);
    if (read.readable && read.labels) for (const [k, v] of Object.entries(read.labels)) labels.set(k, v);
    return read;
  };
  const remove = (target: Target) => {
    if (target.at === 'label') labels.delete(target.key);
    else if (target.at !== 'elsewhere') labels.clear();
  };
  for (const op of ops) {
    const kind = field(op, 'op');
    const target = targetOf(pointer(field(op, 'path')));
    if (kind === 'move' || kind === 'copy') {
      if (target.at !== 'elsewhere') return malformed(type, `a JSON patch "${kind}" into ${String(field(op, 'path')).slice(0, 200)} takes the labels from the stored object, which the gateway does not see`);
      if (kind === 'move') remove(targetOf(pointer(field(op, 'from'))));
      continue;
    }
    if (kind === 'remove') {
      remove(target);
      continue;
    }
    if (kind !== 'add' && kind !== 'replace') continue;
    const value = field(op, 'value');
    switch (target.at) {
      case 'elsewhere':
        continue;
      case 'root':
      case 'metadata':
      case 'labels': {
        const whole = target.at === 'root' ? value : target.at === 'metadata' ? { metadata: value } : { metadata: { labels: value } };
        const read = setAll(whole);
        if (!read.readable) return read;
        break;
      }
      case 'label':
        if (typeof value === 'string') labels.set(target.key, value);
        else if (value === null) labels.set(target.key, '');
        else return malformed(type, `the label ${target.key.slice(0, 100)} has a value that is not a string`);
        break;
    }
    touched = true;
  }
  return touched ? { readable: true, labels: Object.fromEntries(labels) } : { readable: true };
}

/**
 * The first key that appears twice in one object of a JSON text that JSON.parse accepted (so the
 * text is well-formed, and only strings and nesting need tracking). Keys compare decoded
 * (`"a"` and `"\u0061"` are the same key).
 */
export function repeatedJsonKey(text: string): string | undefined {
  const objects: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '{') objects.push(new Set());
    else if (c === '[') objects.push(null);
    else if (c === '}' || c === ']') objects.pop();
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = objects[objects.length - 1];
      let next = end + 1;
      while (next < text.length && /\s/.test(text[next]!)) next += 1;
      if (keys && text[next] === ':') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
}
