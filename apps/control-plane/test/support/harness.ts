import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startDevIdp, type DevIdp } from '@gw/dev-idp';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { createApp } from '../../src/app.js';
import { PgEndpoint } from '../../src/pg-endpoint/pg-endpoint.service.js';
import { SshEndpoint } from '../../src/ssh-endpoint/ssh-endpoint.service.js';
import { MysqlEndpoint } from '../../src/mysql-endpoint/mysql-endpoint.service.js';
import { K8sEndpoint } from '../../src/k8s-endpoint/k8s-endpoint.service.js';

export const ADMIN_DB_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, uniquely named database on the real local Postgres. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DB_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_DB_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface Harness {
  app: NestExpressApplication;
  config: AppConfig;
  baseUrl: string;
  dbUrl: string;
  token(client: string): Promise<string>;
  /** The dev IdP in process (its workload issuers, managed identity endpoints ...). */
  idp: DevIdp;
  request(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  /** Stops the control plane and starts it again on the same ports, database and keys. */
  restart(downtimeMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Control plane on a random port, its own database and Redis prefix, and the dev IdP in process. */
export interface HarnessOptions {
  extraIssuers?: { issuer: string; audience: string }[];
  /** More OIDC_ISSUERS entries that depend on the dev IdP's address (its workload issuers). */
  issuersFor?: (idpIssuer: string) => object[];
}

export async function startHarness(env: Record<string, string> = {}, opts: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const idp = await startDevIdp({ port: 0 });
  const config = loadConfig({
    HTTP_PORT: '0',
    PG_PORT: '0',
    SSH_PORT: '0',
    K8S_PORT: '0',
    MYSQL_PORT: '0',
    DATABASE_URL: db.url,
    REDIS_PREFIX: `gwtest-${randomBytes(4).toString('hex')}`,
    OIDC_ISSUERS: JSON.stringify([{ issuer: idp.issuer, audience: 'api://gateway' }, ...(opts.extraIssuers ?? []), ...(opts.issuersFor?.(idp.issuer) ?? [])]),
    LOG_LEVEL: 'silent',
    DATA_DIR: `.data/test-${randomBytes(4).toString('hex')}`,
    ...env,
  });
  let app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const pgPort = (app.get(PgEndpoint).port ?? 0).toString();
  const sshPort = app.get(SshEndpoint).port ?? 0;
  const k8sPort = app.get(K8sEndpoint).port ?? 0;
  const mysqlPort = app.get(MysqlEndpoint).port ?? 0;
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const tokens = new Map<string, string>();
  const harness: Harness = {
    app,
    config,
    baseUrl,
    dbUrl: db.url,
    idp,
    async token(client) {
      const cached = tokens.get(client);
      if (cached) return cached;
      const t = await idp.issueToken(client);
      tokens.set(client, t);
      return t;
    },
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(baseUrl + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body, headers: res.headers };
    },
    async restart(downtimeMs = 0) {
      await app.close();
      if (downtimeMs) await new Promise((r) => setTimeout(r, downtimeMs));
      const again = { ...config, postgres: { ...config.postgres, port: Number(pgPort) }, ssh: { ...config.ssh, port: sshPort }, kubernetes: { ...config.kubernetes, port: k8sPort }, mysql: { ...config.mysql, port: mysqlPort } };
      app = await createApp(again);
      await app.listen(address.port, '127.0.0.1');
      harness.app = app;
    },
    async close() {
      await app.close();
      await idp.close();
      await db.drop();
    },
  };
  return harness;
}
