import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole first schema. Indices follow the API's queries: audit search by principal,
 * resource, action and time; sessions by principal/resource/time/status; pending approvals.
 */
export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE agents (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      credential_hash text NOT NULL,
      description text,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      revoked_by text,
      last_seen_at timestamptz,
      version text
    )`);
    await q.query(`CREATE TABLE resources (
      id uuid PRIMARY KEY,
      agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
      name text NOT NULL,
      type text NOT NULL CHECK (type IN ('postgres','mysql','ssh','kubernetes','tcp')),
      environment text,
      labels jsonb NOT NULL DEFAULT '{}'::jsonb,
      online boolean NOT NULL DEFAULT false,
      last_heartbeat_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (agent_id, name)
    )`);
    await q.query(`CREATE INDEX resources_name_idx ON resources (name)`);
    await q.query(`CREATE TABLE policy_versions (
      id uuid PRIMARY KEY,
      version integer NOT NULL UNIQUE,
      text text NOT NULL,
      sha256 text NOT NULL,
      description text,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      is_active boolean NOT NULL DEFAULT false,
      activated_at timestamptz,
      activated_by text
    )`);
    await q.query(`CREATE UNIQUE INDEX policy_versions_one_active ON policy_versions (is_active) WHERE is_active`);
    await q.query(`CREATE TABLE access_requests (
      id uuid PRIMARY KEY,
      principal_id text NOT NULL,
      principal jsonb NOT NULL,
      resource_name text NOT NULL,
      role text NOT NULL,
      duration_seconds integer NOT NULL CHECK (duration_seconds > 0),
      reason text NOT NULL,
      status text NOT NULL CHECK (status IN ('pending','approved','denied','expired','cancelled')),
      decision jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      decided_at timestamptz
    )`);
    await q.query(`CREATE INDEX access_requests_status_idx ON access_requests (status, created_at)`);
    await q.query(`CREATE INDEX access_requests_principal_idx ON access_requests (principal_id, created_at)`);
    await q.query(`CREATE TABLE grants (
      id uuid PRIMARY KEY,
      access_request_id uuid REFERENCES access_requests(id),
      principal_id text NOT NULL,
      resource_name text NOT NULL,
      role text NOT NULL,
      starts_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      revoked_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (expires_at > starts_at)
    )`);
    await q.query(`CREATE INDEX grants_lookup_idx ON grants (principal_id, resource_name, expires_at)`);
    await q.query(`CREATE TABLE sessions (
      id uuid PRIMARY KEY,
      principal_id text NOT NULL,
      principal jsonb NOT NULL,
      token_id text,
      resource_name text NOT NULL,
      resource_type text NOT NULL,
      agent_id uuid REFERENCES agents(id),
      role text,
      grant_id uuid REFERENCES grants(id),
      source_address text,
      declared jsonb NOT NULL DEFAULT '{}'::jsonb,
      status text NOT NULL CHECK (status IN ('opening','active','ended','killed','failed')),
      end_reason text,
      bytes_in bigint NOT NULL DEFAULT 0,
      bytes_out bigint NOT NULL DEFAULT 0,
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz
    )`);
    await q.query(`CREATE INDEX sessions_principal_idx ON sessions (principal_id, started_at DESC)`);
    await q.query(`CREATE INDEX sessions_resource_idx ON sessions (resource_name, started_at DESC)`);
    await q.query(`CREATE INDEX sessions_status_idx ON sessions (status, started_at DESC)`);
    await q.query(`CREATE TABLE session_events (
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      occurred_at timestamptz NOT NULL,
      type text NOT NULL,
      data jsonb NOT NULL,
      PRIMARY KEY (session_id, seq)
    )`);
    await q.query(`CREATE TABLE approvals (
      id uuid PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('access_request','statement','command')),
      access_request_id uuid REFERENCES access_requests(id),
      session_id uuid REFERENCES sessions(id),
      status text NOT NULL CHECK (status IN ('pending','approved','denied','expired','cancelled')),
      required_approvals integer NOT NULL DEFAULT 1 CHECK (required_approvals > 0),
      approver_constraint text,
      votes jsonb NOT NULL DEFAULT '[]'::jsonb,
      subject jsonb NOT NULL,
      requested_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      decided_at timestamptz
    )`);
    await q.query(`CREATE INDEX approvals_pending_idx ON approvals (status, created_at)`);
    await q.query(`CREATE INDEX approvals_session_idx ON approvals (session_id)`);
    await q.query(`CREATE TABLE webhook_subscriptions (
      id uuid PRIMARY KEY,
      url text NOT NULL,
      events text[] NOT NULL,
      format text NOT NULL DEFAULT 'json' CHECK (format IN ('json','slack')),
      secret text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      disabled_at timestamptz
    )`);
    await q.query(`CREATE TABLE audit_events (
      seq bigint PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      occurred_at timestamptz NOT NULL,
      actor_id text,
      actor jsonb,
      action text NOT NULL,
      resource text,
      outcome text NOT NULL,
      details jsonb NOT NULL DEFAULT '{}'::jsonb,
      prev_hash text NOT NULL UNIQUE,
      hash text NOT NULL UNIQUE
    )`);
    await q.query(`CREATE INDEX audit_actor_idx ON audit_events (actor_id, occurred_at DESC)`);
    await q.query(`CREATE INDEX audit_resource_idx ON audit_events (resource, occurred_at DESC)`);
    await q.query(`CREATE INDEX audit_action_idx ON audit_events (action, occurred_at DESC)`);
    await q.query(`CREATE INDEX audit_time_idx ON audit_events (occurred_at DESC)`);
    // Append-only in the database too: the chain detects tampering, this trigger makes it deliberate.
    await q.query(`CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$`);
    await q.query(`CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events`);
    await q.query(`DROP FUNCTION IF EXISTS audit_events_append_only()`);
    for (const table of [
      'audit_events', 'webhook_subscriptions', 'approvals', 'session_events', 'sessions', 'grants',
      'access_requests', 'policy_versions', 'resources', 'agents',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
