import { request } from 'node:https';

/** A raw HTTPS request to the gateway's Kubernetes endpoint, for what kubectl does not show (watch bytes, Table objects). */
export function k8sRequest(url: string, ca: string, token: string, opts: { method?: string; accept?: string; headers?: Record<string, string>; body?: string; firstLineOnly?: boolean } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', ca, headers: { authorization: `Bearer ${token}`, ...(opts.accept ? { accept: opts.accept } : {}), ...(opts.headers ?? {}) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (opts.firstLineOnly && body.includes('\n')) {
          resolve({ status: res.statusCode ?? 0, body: body.slice(0, body.indexOf('\n')), headers: res.headers });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', () => undefined);
    });
    req.on('error', (error) => (opts.firstLineOnly ? undefined : reject(error)));
    req.end(opts.body);
  });
}
