// Part of `npm start`: the demo database behind the `postgres-demo` resource. Idempotent.
// Fake customer data only: every card number is a test number, every SSN/IBAN is invented.
import pg from 'pg';

const DB = 'gateway_demo';

export async function ensureDemoData(adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres') {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DB}`);
    for (const [role, comment] of [['demo_reader', 'reads the demo tables'], ['demo_writer', 'reads and writes the demo tables']]) {
      const found = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (found.rowCount === 0) await admin.query(`CREATE ROLE ${role} NOLOGIN`);
      await admin.query(`COMMENT ON ROLE ${role} IS '${comment} (gateway demo)'`);
    }
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${DB}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    await db.query(`CREATE TABLE IF NOT EXISTS customers (
      id serial PRIMARY KEY, name text NOT NULL, email text, card_number text, ssn text, iban text, phone text,
      order_ref text, notes text)`);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM customers');
    if (rows[0].n === 0) {
      await db.query(`INSERT INTO customers (name, email, card_number, ssn, iban, phone, order_ref, notes) VALUES
        ('Ada Lovelace', 'ada@example.com', '4111 1111 1111 1111', '536-22-8410', 'DE89 3704 0044 0532 0130 00', '+1 415 555 0132', '4111111111111112', 'prefers e-mail'),
        ('Alan Turing', 'alan.turing@example.org', '5500-0000-0000-0004', '412-67-3398', 'GB82WEST12345698765432', '+44 20 7946 0958', 'ORD-2024-0001', 'VIP'),
        ('Grace Hopper', 'grace@example.net', '340000000000009', '623-15-0947', 'FR1420041010050500013M02606', '+1 202 555 0173', 'ORD-2024-0002', 'call after 5pm: +1 202 555 0199'),
        ('Katherine Johnson', 'kj@example.com', '6011000000000004', '457-55-5462', 'NL91ABNA0417164300', '+1 757 555 0100', 'ORD-2024-0003', NULL)`);
    }
    await db.query('GRANT SELECT ON customers TO demo_reader');
    await db.query('GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO demo_writer');
    await db.query('GRANT USAGE, SELECT ON SEQUENCE customers_id_seq TO demo_writer');
  } finally {
    await db.end();
  }
}

// The demo database behind the `mariadb-demo` resource: the same fake customers on the local MariaDB
// (root, no password, as on a developer machine), and the same two roles, granted to each session's
// ephemeral user by the agent. Idempotent.
export async function ensureMariadbDemoData({ host = '127.0.0.1', port = 3306, user = 'root', password = '' } = {}) {
  const mysql = (await import('mysql2/promise')).default;
  const db = await mysql.createConnection({ host, port, user, password, multipleStatements: true });
  try {
    await db.query(`CREATE DATABASE IF NOT EXISTS ${DB}`);
    await db.query(`CREATE TABLE IF NOT EXISTS ${DB}.customers (
      id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200), card_number varchar(40), ssn varchar(20), iban varchar(40),
      phone varchar(40), order_ref varchar(40), notes text)`);
    const [[{ n }]] = await db.query(`SELECT COUNT(*) AS n FROM ${DB}.customers`);
    if (Number(n) === 0) {
      await db.query(`INSERT INTO ${DB}.customers (name, email, card_number, ssn, iban, phone, order_ref, notes) VALUES
        ('Ada Lovelace', 'ada@example.com', '4111 1111 1111 1111', '536-22-8410', 'DE89 3704 0044 0532 0130 00', '+1 415 555 0132', '4111111111111112', 'prefers e-mail'),
        ('Alan Turing', 'alan.turing@example.org', '5500-0000-0000-0004', '412-67-3398', 'GB82WEST12345698765432', '+44 20 7946 0958', 'ORD-2024-0001', 'VIP'),
        ('Grace Hopper', 'grace@example.net', '340000000000009', '623-15-0947', 'FR1420041010050500013M02606', '+1 202 555 0173', 'ORD-2024-0002', 'call after 5pm: +1 202 555 0199'),
        ('Katherine Johnson', 'kj@example.com', '6011000000000004', '457-55-5462', 'NL91ABNA0417164300', '+1 757 555 0100', 'ORD-2024-0003', NULL)`);
    }
    await db.query(`CREATE ROLE IF NOT EXISTS demo_reader; CREATE ROLE IF NOT EXISTS demo_writer;
      GRANT SELECT ON ${DB}.* TO demo_reader; GRANT SELECT, INSERT, UPDATE, DELETE ON ${DB}.* TO demo_writer`);
  } finally {
    await db.end();
  }
}

/** The folder the demo MCP server (mcp-files, @modelcontextprotocol/server-filesystem) serves: fake customer files. */
export const DEMO_FILES_DIR = '.data/mcp-files';

/** Writes the demo files once (files the demo's writes added stay). */
export async function ensureDemoFiles(dir = DEMO_FILES_DIR) {
  const { mkdir, writeFile, access } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const files = {
    'customers.csv': [
      'name,email,card,ssn,phone,note',
      'Ada Lovelace,ada@example.com,4111 1111 1111 1111,536-22-8410,+1 415 555 0132,prefers e-mail',
      'Grace Hopper,grace@example.com,5555 5555 5555 4444,623-15-0947,+1 202 555 0147,',
      'Katherine Johnson,kj@example.com,6011000000000004,457-55-5462,+1 757 555 0100,',
    ].join('\n') + '\n',
    'README.txt': 'Fake customer data for the gateway demo (all values are test numbers).\n',
  };
  for (const [name, content] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    const exists = await access(path).then(() => true, () => false);
    if (!exists) await writeFile(path, content);
  }
}
