import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { JsonValueMasker, Masker, maskFull } from '@gw/masking';
import type { MaskingObligation, MaskStyle } from '@gw/policy';
import type { RequestAttributes } from './request-attributes.js';

/** Largest JSON answer masked whole (lists); a larger one is cut off rather than passed unmasked. */
export const MAX_MASKED_JSON_BYTES = 64 * 1024 * 1024;
/** Longest line of a streamed answer (watch event, log line) held back to be masked whole. */
export const MAX_MASKED_LINE_BYTES = 16 * 1024 * 1024;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Plural resource names of kinds, for `@mask_columns("<resource>.<field>:style")` on objects found in lists, tables and events. */
function resourceOfKind(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('s')) return `${lower}es`;
  if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Kinds that wrap or describe objects of the resource asked for rather than being one: a Table, a
 * watch event, a Status, and the metadata-only views (`Accept: application/json;as=PartialObjectMetadata`
 * or `...List`, and a Table's rows, which hold PartialObjectMetadata unless `includeObject=Object`).
 * Their contents are objects of the request's resource (or of the list's kind).
 */
const WRAPPER_KINDS = new Set(['Table', 'Status', 'WatchEvent', 'PartialObjectMetadata', 'PartialObjectMetadataList']);

/**
 * What a permit's masking asks of Kubernetes answers:
 * - `@mask_columns("secrets.data:full, secrets.stringData:full")`: a column is a top-level field
 *   of an object of that resource; each value of the field (or the field itself) is masked in the
 *   rule's style. An object with a masked field also loses its last-applied-configuration
 *   annotation (it holds the whole object as written).
 * - `@mask("email:partial, ...")`: the recognizers run over every string of the answer, JSON
 *   (objects, lists, Table rows, watch events) or text (logs).
 */
export class ObjectMasker {
  private readonly json: JsonValueMasker;

  /** Resources (plural, lower case) that some column rule names; `*` when a rule names every table. */
  private readonly ruledResources: ReadonlySet<string>;

  constructor(private readonly masker: Masker, columns: MaskingObligation['columns'] = []) {
    this.json = new JsonValueMasker(masker);
    this.ruledResources = new Set(columns.map((c) => {
      const table = c.table.toLowerCase();
      return table.includes('.') ? table.slice(table.lastIndexOf('.') + 1) : table;
    }));
  }

  /**
   * Whether some column rule masks fields of this resource. Its objects then lose their
   * last-applied-configuration annotation (the whole object as written, masked fields included)
   * even where the masked field is absent: the metadata-only views (Table rows, `as=PartialObjectMetadata`)
   * carry the annotation without the field.
   */
  private hasColumnRules(resources: readonly string[]): boolean {
    return resources.length > 0 && (this.ruledResources.has('*') || resources.some((r) => this.ruledResources.has(r)));
  }

  /** The first column rule's style for `field` of an object of one of `resources`. */
  private columnStyleOf(resources: readonly string[], field: string): MaskStyle | undefined {
    for (const table of resources) {
      const style = this.masker.columnStyle({ table, column: field });
      if (style !== undefined) return style;
    }
    return undefined;
  }

  maskDocument(doc: unknown, hintResource?: string): unknown {
    return this.walk(doc, hintResource !== undefined ? [hintResource] : []);
  }

  /**
   * `key`: the field (or, for a Table row's cells, the column) a value sits under, which names what
   * bare digits in it are (`data: { ssn: "536221234" }`). Keys are masked too (a CRD's map keyed by
   * e-mail address), and a number that holds an entity becomes null (see JsonValueMasker).
   */
  private walk(value: unknown, resource: readonly string[], key?: string): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v, resource, key));
    if (!isRecord(value)) return this.json.leaf(value, key);
    const kind = typeof value.kind === 'string' ? value.kind : undefined;
    // A list's items, a watch event's object and a Table row's object are objects of their own kind,
    // and of the resource asked for: a plural made from the kind is a guess (`Endpoints`, and a
    // custom resource names its plural freely), so the rules of both names apply.
    let derived: string | undefined;
    if (kind !== undefined && WRAPPER_KINDS.has(kind)) derived = undefined;
    else if (kind?.endsWith('List') && Array.isArray(value.items)) derived = resourceOfKind(kind.slice(0, -'List'.length));
    else if (kind && typeof value.apiVersion === 'string') derived = resourceOfKind(kind);
    const own = derived !== undefined && !resource.includes(derived) ? [...resource, derived] : resource;
    const out: Record<string, unknown> = {};
    let maskedField = false;
    for (const [field, v] of Object.entries(value)) {
      const style = field !== 'metadata' && field !== 'kind' && field !== 'apiVersion' ? this.columnStyleOf(own, field) : undefined;
      if (style !== undefined) {
        maskedField = true;
        if (isRecord(v)) {
          const values: Record<string, unknown> = {};
          for (const [k, inner] of Object.entries(v)) JsonValueMasker.assign(values, this.json.key(k), typeof inner === 'string' ? this.masker.maskWithStyle(inner, style) : null);
          out[field] = values;
        } else {
          out[field] = typeof v === 'string' ? this.masker.maskWithStyle(v, style) : null;
        }
        continue;
      }
      const childResource = field === 'items' || field === 'object' || field === 'rows' ? own : [];
      const masked = kind === 'Table' && field === 'rows' && Array.isArray(v) ? v.map((row) => this.tableRow(row, value.columnDefinitions, childResource)) : this.walk(v, childResource, field);
      JsonValueMasker.assign(out, this.json.key(field), masked);
    }
    if ((maskedField || this.hasColumnRules(own)) && isRecord(out.metadata) && isRecord(out.metadata.annotations) && LAST_APPLIED in out.metadata.annotations) {
      out.metadata = { ...out.metadata, annotations: { ...out.metadata.annotations, [LAST_APPLIED]: maskFull('x'.repeat(8)) } };
    }
    return out;
  }

  /** A Table row: each cell named by its column (`kubectl get` of a CRD with an `SSN` printer column). */
  private tableRow(row: unknown, columns: unknown, resource: readonly string[]): unknown {
    if (!isRecord(row) || !Array.isArray(row.cells)) return this.walk(row, resource);
    const names = Array.isArray(columns) ? columns.map((c) => (isRecord(c) && typeof c.name === 'string' ? c.name : undefined)) : [];
    const { cells, ...rest } = row;
    const masked = this.walk(rest, resource) as Record<string, unknown>;
    return { ...masked, cells: cells.map((cell, i) => this.walk(cell, resource, names[i])) };
  }

  maskText(line: string): string {
    return this.masker.maskEntities(line);
  }
}

export interface ResponseMasking {
  /** A transform that masks the answer; undefined when there is nothing to mask. */
  transformFor(attrs: RequestAttributes, contentType: string, streaming: boolean): Transform | undefined;
  readonly objects: ObjectMasker;
  /** The entity masking of text streams (exec and attach channels, see ../output-masking/channel-text-masker.ts). */
  readonly masker: Masker;
}

export function responseMasking(rules: MaskingObligation, key: Uint8Array): ResponseMasking | undefined {
  if (rules.entities.length === 0 && rules.columns.length === 0) return undefined;
  const masker = new Masker(rules, { key });
  const objects = new ObjectMasker(masker, rules.columns);
  return {
    objects,
    masker,
    transformFor(attrs, contentType, streaming) {
      const resource = attrs.isResourceRequest && !attrs.subresource ? attrs.resource : undefined;
      if (/json/i.test(contentType)) {
        return streaming
          ? new LineMasker((line) => JSON.stringify(objects.maskDocument(JSON.parse(line) as unknown, resource)))
          : new WholeJsonMasker((doc) => objects.maskDocument(doc, resource));
      }
      if (/^text\//i.test(contentType) || contentType === '') return new LineMasker((line) => objects.maskText(line));
      // Protobuf or anything else that cannot be read: never passed through unmasked.
      return new Transform({
        transform(_chunk, _enc, callback) {
          callback(new Error(`an answer of type ${contentType} cannot be masked`));
        },
      });
    },
  };
}

/** What of an object stays when only its identity may go back. */
const IDENTITY_METADATA = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp'];

function identityOf(value: unknown): unknown {
  if (!isRecord(value)) return null;
  // A Status (an error, or a delete's success) is the API server's own answer, not the object.
  if (value.kind === 'Status') return value;
  const out: Record<string, unknown> = {};
  if (typeof value.kind === 'string') out.kind = value.kind;
  if (typeof value.apiVersion === 'string') out.apiVersion = value.apiVersion;
  if (isRecord(value.metadata)) {
    const metadata: Record<string, unknown> = {};
    for (const field of IDENTITY_METADATA) if (value.metadata[field] !== undefined) metadata[field] = value.metadata[field];
    out.metadata = metadata;
  }
  if (Array.isArray(value.items)) out.items = value.items.map(identityOf);
  return out;
}

/**
 * The answer to a write of an object that policy would not let the principal read: each object
 * keeps only kind, apiVersion and the identity in its metadata (kubectl still prints
 * `secret/x patched`); an answer that is not JSON is cut off.
 */
export function identityOnly(contentType: string, why: string): Transform {
  if (!/json/i.test(contentType)) {
    return new Transform({
      transform(_chunk, _enc, callback) {
        callback(new Error(`an answer of type ${contentType} cannot be reduced to the object's identity (${why})`));
      },
    });
  }
  return new WholeJsonMasker((doc) => identityOf(doc));
}

/** Masks a JSON answer as one document (it must be complete to be parsed). */
class WholeJsonMasker extends Transform {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly mask: (doc: unknown) => unknown) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > MAX_MASKED_JSON_BYTES) return callback(new Error(`answer larger than ${MAX_MASKED_JSON_BYTES} bytes cannot be masked`));
    this.chunks.push(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const text = Buffer.concat(this.chunks).toString('utf8');
    if (text.trim() === '') return callback(null, text);
    try {
      callback(null, JSON.stringify(this.mask(JSON.parse(text) as unknown)));
    } catch (error) {
      callback(error as Error);
    }
  }
}

/**
 * Masks a stream line by line (watch events are one JSON document per line; logs are text), each
 * line as soon as it is complete, so a watch or `logs -f` stays live.
 */
class LineMasker extends Transform {
  private carry = '';
  // A UTF-8 character split between two chunks is decoded once both halves are here.
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly maskLine: (line: string) => string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    const text = this.carry + this.decoder.write(chunk);
    const lines = text.split('\n');
    this.carry = lines.pop() ?? '';
    if (Buffer.byteLength(this.carry) > MAX_MASKED_LINE_BYTES) return callback(new Error('a line longer than the masking limit'));
    try {
      const out = lines.map((l) => (l.trim() === '' ? l : this.maskLine(l)) + '\n').join('');
      callback(null, out);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.carry += this.decoder.end();
    try {
      callback(null, this.carry.trim() === '' ? this.carry : this.maskLine(this.carry));
    } catch (error) {
      callback(error as Error);
    }
  }
}
