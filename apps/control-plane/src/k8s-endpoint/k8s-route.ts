/** Prefix of every cluster the endpoint serves: `https://<gateway>:16443/k8s/<resource>`. */
export const K8S_PATH_PREFIX = '/k8s/';

const RESOURCE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface K8sRoute {
  resource: string;
  /** The path and query as the API server sees them (`/api/v1/pods?limit=500`). */
  path: string;
}

/**
 * Splits `/k8s/<resource>/<api path>?<query>`. The API path must be absolute and free of dot
 * segments, so that a crafted path cannot reach outside what the agent decides on.
 */
export function parseK8sRoute(url: string | undefined): K8sRoute | undefined {
  if (!url?.startsWith(K8S_PATH_PREFIX)) return undefined;
  const rest = url.slice(K8S_PATH_PREFIX.length);
  const cut = rest.search(/[/?]/);
  const resource = cut < 0 ? rest : rest.slice(0, cut);
  if (!RESOURCE_NAME.test(resource)) return undefined;
  let path = cut < 0 ? '/' : rest.slice(cut);
  if (path.startsWith('?')) path = `/${path}`;
  return { resource, path };
}
