# Ruby pg (Debian's ruby-pg, libpq-based) through the gateway: masked rows, a parameterized and a
# prepared query, a denied statement with its SQLSTATE, and the session still usable afterwards.
# Reads the libpq connection string from GW_CONNINFO (TLS, the token as password) and prints one JSON
# object; the e2e test (postgres-client-matrix.test.ts) asserts on it.
require 'json'
require 'pg'

out = {}
conn = PG.connect(ENV.fetch('GW_CONNINFO'))
out['ssl'] = conn.ssl_in_use?
out['masked'] = conn.exec('SELECT email, card, ssn FROM customers WHERE id = 1').values.first
out['param'] = conn.exec_params('SELECT email, card FROM customers WHERE id = $1', [2]).values.first
conn.prepare('by_id', 'SELECT ssn FROM customers WHERE id = $1')
out['prepared'] = [1, 2].map { |id| conn.exec_prepared('by_id', [id]).getvalue(0, 0) }
begin
  conn.exec_params('DELETE FROM orders WHERE id = $1', [1])
  out['denied'] = 'not refused'
rescue PG::Error => e
  out['denied'] = { 'class' => e.class.name, 'sqlstate' => e.result.error_field(PG::PG_DIAG_SQLSTATE), 'message' => e.result.error_field(PG::PG_DIAG_MESSAGE_PRIMARY) }
end
out['after_denied'] = conn.exec_params('SELECT count(*)::int FROM orders WHERE id = $1', [1]).getvalue(0, 0).to_i
conn.close
puts JSON.generate(out)
