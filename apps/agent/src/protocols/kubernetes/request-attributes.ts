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

/** Go's strconv.ParseBool, which the API server uses for `watch`. */
function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** A valid path segment name (the API server ignores a fieldSelector name that is not). */
function isValidPathSegmentName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
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
  const cut = url.indexOf('?');
  const path = (cut < 0 ? url : url.slice(0, cut)).split('#')[0]!;
  const query = new URLSearchParams(cut < 0 ? '' : url.slice(cut + 1));
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
    const watch = query.get('watch');
    const asBool = watch === null ? false : parseGoBool(watch);
    // An unparseable value: the API server falls back to "watch unless it says false".
    info.verb = (asBool ?? true) ? 'watch' : 'list';
    const selector = query.get('fieldSelector');
    const exact = selector ? /^metadata\.name(==|=)([^,]*)$/.exec(selector) : null;
    if (exact && isValidPathSegmentName(exact[2]!)) info.name = exact[2]!;
  }
  if (info.name === undefined && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}
