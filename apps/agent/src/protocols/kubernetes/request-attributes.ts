/**
 * Kubernetes request attributes, derived from a request the way the API server derives them for
 * authorization (its RequestInfo): verb from the method, `watch` and whether a name is present;
 * API group, version, resource, subresource, namespace and name from the path.
 */
export interface RequestAttributes {
  isResourceRequest: boolean;
  /** get, list, watch, create, update, patch, delete, deletecollection, proxy (or the lower-case method of a non-resource request). */
  verb: string;
  path: string;
  apiPrefix?: string;
  apiGroup?: string;
  apiVersion?: string;
  namespace?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_PREFIXES = new Set(['api']);
/** Verbs that appear as the first path segment after the version (deprecated forms, still served). */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** Namespace subresources: `/namespaces/<ns>/status` is the namespace's status, not a resource "status". */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * A boolean query parameter as the API server reads it (apimachinery's conversion of `watch`,
 * `follow`, `tty` ...): only `0` and `false` in any case are false; anything else given, even `f`,
 * `no` or an empty value, is true. Go's strconv.ParseBool would read `f` as false and `FALSE ` as
 * an error: `?watch=f` is a watch to the API server.
 */
export function queryBool(value: string | null): boolean {
  if (value === null) return false;
  return value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * A valid path segment name (the API server ignores a fieldSelector name that is not). A backslash
 * is an escape in field selectors (`\,`, `\=`, `\\`; others are errors that drop the selector):
 * a name with one is not taken, so the request stays a list of everything.
 */
function isValidPathSegmentName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%') && !name.includes('\\');
}

/**
 * The query as the API server reads it (Go's url.ParseQuery). Go drops a `key=value` pair that
 * holds a raw `;` or a bad percent-escape and reads the rest, where URLSearchParams keeps both: in
 * `?command=ls;&command=rm` the API server runs `rm` alone. Such queries are refused rather than
 * guessed at, and so are escapes that are not UTF-8 (Go keeps the bytes, JavaScript would not).
 */
export function parseQuery(rawQuery: string): URLSearchParams {
  for (const pair of rawQuery.split('&')) {
    if (pair.includes(';')) throw new RequestAttributeError('a raw ";" in the query is read differently by the API server; send it as %3B');
    try {
      decodeURIComponent(pair.replace(/\+/g, ' '));
    } catch {
      throw new RequestAttributeError(`the query part ${pair.slice(0, 200)} is not valid percent-encoded UTF-8`);
    }
  }
  return new URLSearchParams(rawQuery);
}

/** The query of a request target (`/api/v1/...?watch=1`), read by parseQuery. */
export function queryOf(url: string): URLSearchParams {
  const cut = url.indexOf('?');
  return parseQuery(cut < 0 ? '' : url.slice(cut + 1));
}

/**
 * The path's segments as the API server splits them: it routes and authorizes on the decoded
 * path. Paths that layers could read differently are refused: encoded slashes, empty and dot
 * segments, backslashes, NUL.
 */
function segments(rawPath: string): string[] {
  if (/%2f|%5c|%00/i.test(rawPath)) throw new RequestAttributeError('encoded slashes, backslashes and NUL are not allowed in a Kubernetes API path');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new RequestAttributeError(`the path ${rawPath.slice(0, 200)} is not valid percent-encoding`);
  }
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return [];
  const parts = trimmed.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
    throw new RequestAttributeError('empty or dot segments and backslashes are not allowed in a Kubernetes API path');
  }
  return parts;
}

export class RequestAttributeError extends Error {}

/** `url` is the path and query the client sent to the cluster (`/api/v1/namespaces/default/pods?watch=1`). */
export function requestAttributes(method: string, url: string): RequestAttributes {
  // The raw request target, not a URL parser's view of it: a parser resolves `..` and turns `\\`
  // into `/`, while the request goes on to the API server as written.
  // A `#` has no place in a request target: Go's server keeps it as part of the path (or the
  // query), where a URL parser would cut it off as a fragment; refused, never guessed.
  if (url.includes('#')) throw new RequestAttributeError('a "#" is not allowed in a Kubernetes API request (the API server does not read it as a fragment)');
  const cut = url.indexOf('?');
  const path = cut < 0 ? url : url.slice(0, cut);
  const query = parseQuery(cut < 0 ? '' : url.slice(cut + 1));
  if (!path.startsWith('/')) throw new RequestAttributeError('the request target must be an absolute path');
  const info: RequestAttributes = { isResourceRequest: false, path, verb: method.toLowerCase() };
  let parts = segments(path);
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  info.apiPrefix = parts[0]!;
  parts = parts.slice(1);
  if (!GROUPLESS_PREFIXES.has(info.apiPrefix)) {
    if (parts.length < 3) return info;
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  } else {
    info.apiGroup = '';
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);

  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) throw new RequestAttributeError(`unable to determine kind and namespace from ${path.slice(0, 200)}`);
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    switch (method.toUpperCase()) {
      case 'POST':
        info.verb = 'create';
        break;
      case 'GET':
      case 'HEAD':
        info.verb = 'get';
        break;
      case 'PUT':
        info.verb = 'update';
        break;
      case 'PATCH':
        info.verb = 'patch';
        break;
      case 'DELETE':
        info.verb = 'delete';
        break;
      default:
        info.verb = '';
    }
  }

  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  // parts: resource/name/subresource/...
  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;

  if (info.name === undefined && info.verb === 'get') {
    // The first `watch` given counts, as for the API server.
    info.verb = queryBool(query.get('watch')) ? 'watch' : 'list';
    const selector = query.get('fieldSelector');
    const exact = selector ? /^metadata\.name(==|=)([^,]*)$/.exec(selector) : null;
    if (exact && isValidPathSegmentName(exact[2]!)) info.name = exact[2]!;
  }
  if (info.name === undefined && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}
