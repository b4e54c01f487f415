<?php
// What users of PHP's MySQL extensions do through the gateway: PDO_MYSQL (GW_DRIVER=pdo) or mysqli
// (GW_DRIVER=mysqli), both on mysqlnd, PHP's own implementation of the MySQL protocol (Debian
// php8.2-cli + php8.2-mysql). Run by e2e/mysql-client-matrix.test.ts; prints one JSON object of outcomes.
// GW_HOST, GW_PORT, GW_USER, GW_PASSWORD (the token), GW_DB, GW_CA (the endpoint's certificate), GW_TAG.
//
// The login: mysqlnd answers the endpoint's switch to mysql_clear_password with the password as it is;
// the endpoint asks for it only once TLS is up. TLS with the certificate checked takes, for PDO,
// PDO::MYSQL_ATTR_SSL_CA (which turns TLS on) and PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => true; for
// mysqli, ssl_set(null, null, $ca, null, null), MYSQLI_OPT_SSL_VERIFY_SERVER_CERT and MYSQLI_CLIENT_SSL.

$driver = getenv('GW_DRIVER');
[$host, $port, $user, $password, $db, $ca, $tag] = array_map('getenv', ['GW_HOST', 'GW_PORT', 'GW_USER', 'GW_PASSWORD', 'GW_DB', 'GW_CA', 'GW_TAG']);
$port = (int) $port;
/** CAs that did not sign the endpoint's certificate (Debian's bundle): the TLS check must fail. */
const UNTRUSTED_CA = '/etc/ssl/certs/ca-certificates.crt';

function pdo_connect(bool $tls = true, ?string $secret = null, array $options = []): PDO {
  global $host, $port, $user, $password, $db, $ca;
  $tlsOptions = $tls ? [PDO::MYSQL_ATTR_SSL_CA => $ca, PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => true] : [];
  return new PDO("mysql:host=$host;port=$port;dbname=$db", $user, $secret ?? $password,
    $options + [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION] + $tlsOptions);
}

function mysqli_connect_with(bool $tls = true, ?string $secret = null, int $flags = 0, ?string $caFile = null): mysqli {
  global $host, $port, $user, $password, $db, $ca;
  $m = mysqli_init();
  // Integers come back as PHP ints in text results too, as they do from prepared statements.
  $m->options(MYSQLI_OPT_INT_AND_FLOAT_NATIVE, true);
  if ($tls) {
    $m->ssl_set(null, null, $caFile ?? $ca, null, null);
    $m->options(MYSQLI_OPT_SSL_VERIFY_SERVER_CERT, true);
    $flags |= MYSQLI_CLIENT_SSL;
  }
  $m->real_connect($host, $user, $secret ?? $password, $db, $port, null, $flags);
  return $m;
}

/** [code, message] of the driver error $action throws; null when it threw nothing. */
function error_of(callable $action): ?array {
  try {
    $action();
  } catch (PDOException $e) {
    return [$e->errorInfo[1] ?? $e->getCode(), $e->errorInfo[2] ?? $e->getMessage()];
  } catch (mysqli_sql_exception $e) {
    return [$e->getCode(), $e->getMessage()];
  }
  return null;
}

/** Counts the rows of a streamed result and those that came back unmasked. */
function stream_summary(iterable $emails): array {
  $count = 0; $leaked = 0; $first = null;
  foreach ($emails as $email) {
    $first ??= $email;
    $count++;
    if (preg_match('/^u\d+@/', $email)) $leaked++;
  }
  return ['rows' => $count, 'leaked' => $leaked, 'first' => $first];
}

$out = [];
if ($driver === 'pdo') {
  $c = pdo_connect();
  $out['server'] = $c->getAttribute(PDO::ATTR_SERVER_VERSION);
  $out['rows'] = $c->query('SELECT id, email, card, phone FROM customers ORDER BY id')->fetchAll(PDO::FETCH_NUM);
  // Placeholders: emulated by PDO by default (the value is quoted into a text query) ...
  $s = $c->prepare("SELECT email, card FROM customers WHERE id = ? /* $driver */");
  $s->execute([1]);
  $out['param'] = $s->fetchAll(PDO::FETCH_NUM);
  // ... and real prepared statements (COM_STMT_PREPARE/EXECUTE, binary rows) without emulation.
  $native = pdo_connect(true, null, [PDO::ATTR_EMULATE_PREPARES => false]);
  $p = $native->prepare("SELECT email, card, card_number FROM customers WHERE id = ? /* $driver */");
  $out['server_prepared'] = array_map(function ($id) use ($p) { $p->execute([$id]); return $p->fetchAll(PDO::FETCH_NUM); }, [1, 2]);
  $native = null;

  // An unbuffered query: rows are read as they arrive, and every one must come masked.
  $c->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, false);
  $out['streamed'] = stream_summary((function () use ($c) {
    foreach ($c->query('SELECT email FROM people ORDER BY id', PDO::FETCH_NUM) as [$email]) yield $email;
  })());
  $c->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, true);

  $out['denied'] = error_of(fn () => $c->exec('DROP TABLE orders'));
  $out['after_denied'] = $c->query('SELECT 1')->fetchAll(PDO::FETCH_NUM);
  $out['forbidden'] = error_of(fn () => $c->query('SELECT * FROM secrets'));
  $out['duplicate'] = error_of(fn () => $c->exec("INSERT INTO customers (id, name) VALUES (1, 'again')"));

  $c->beginTransaction();
  $c->prepare('INSERT INTO orders (customer_id, item) VALUES (1, ?)')->execute(["$tag-undone"]);
  $out['denied_in_transaction'] = error_of(fn () => $c->exec('TRUNCATE TABLE orders'));
  $c->rollBack();
  $c->beginTransaction();
  $c->prepare('INSERT INTO orders (customer_id, item) VALUES (1, ?)')->execute(["$tag-kept"]);
  $c->commit();
  $out['after_transaction'] = $c->query('SELECT 3')->fetchAll(PDO::FETCH_NUM);

  // Several statements in one text (PDO_MYSQL allows them unless PDO::MYSQL_ATTR_MULTI_STATEMENTS is false).
  $r = $c->query('SELECT email FROM customers WHERE id = 1; SELECT phone FROM customers WHERE id = 1');
  $multi = $r->fetchAll(PDO::FETCH_NUM);
  $r->nextRowset();
  $out['multi'] = array_merge($multi, $r->fetchAll(PDO::FETCH_NUM));
  $r = null;
  $out['multi_refused'] = error_of(fn () => $c->exec("INSERT INTO orders (customer_id, item) VALUES (2, '$tag-multi'); DROP TABLE orders"));
  $out['after_multi_refused'] = $c->query('SELECT 2')->fetchAll(PDO::FETCH_NUM);
  $c = null;
  // Without the multi-statements flag at login, a text of several statements is refused.
  $single = pdo_connect(true, null, [PDO::MYSQL_ATTR_MULTI_STATEMENTS => false]);
  $out['multi_off'] = error_of(fn () => $single->exec("INSERT INTO orders (customer_id, item) VALUES (2, '$tag-single'); INSERT INTO orders (customer_id, item) VALUES (2, '$tag-single')"));
  $single = null;

  $out['no_tls'] = error_of(fn () => pdo_connect(false));
  $out['untrusted'] = error_of(fn () => pdo_connect(true, null, [PDO::MYSQL_ATTR_SSL_CA => UNTRUSTED_CA]));
  $out['bad_token'] = error_of(fn () => pdo_connect(true, 'not-a-token'));
} else {
  mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
  $c = mysqli_connect_with();
  $out['server'] = $c->server_info;
  $out['rows'] = $c->query('SELECT id, email, card, phone FROM customers ORDER BY id')->fetch_all(MYSQLI_NUM);
  // mysqli's prepared statements are the server's (COM_STMT_PREPARE/EXECUTE, binary rows).
  $s = $c->prepare("SELECT email, card FROM customers WHERE id = ? /* $driver */");
  $id = 1;
  $s->bind_param('i', $id);
  $s->execute();
  $out['param'] = $s->get_result()->fetch_all(MYSQLI_NUM);
  $p = $c->prepare("SELECT email, card, card_number FROM customers WHERE id = ? /* $driver */");
  $out['server_prepared'] = array_map(function ($id) use ($p) { $p->execute([$id]); return $p->get_result()->fetch_all(MYSQLI_NUM); }, [1, 2]);
  $p->close();

  // MYSQLI_USE_RESULT: rows are read as they arrive, and every one must come masked.
  $r = $c->query('SELECT email FROM people ORDER BY id', MYSQLI_USE_RESULT);
  $out['streamed'] = stream_summary((function () use ($r) {
    while ($row = $r->fetch_row()) yield $row[0];
  })());
  $r->free();

  $out['denied'] = error_of(fn () => $c->query('DROP TABLE orders'));
  $out['after_denied'] = $c->query('SELECT 1')->fetch_all(MYSQLI_NUM);
  $out['forbidden'] = error_of(fn () => $c->query('SELECT * FROM secrets'));
  $out['duplicate'] = error_of(fn () => $c->query("INSERT INTO customers (id, name) VALUES (1, 'again')"));

  $c->begin_transaction();
  $c->execute_query('INSERT INTO orders (customer_id, item) VALUES (1, ?)', ["$tag-undone"]);
  $out['denied_in_transaction'] = error_of(fn () => $c->query('TRUNCATE TABLE orders'));
  $c->rollback();
  $c->begin_transaction();
  $c->execute_query('INSERT INTO orders (customer_id, item) VALUES (1, ?)', ["$tag-kept"]);
  $c->commit();
  $out['after_transaction'] = $c->query('SELECT 3')->fetch_all(MYSQLI_NUM);

  // multi_query sends several statements in one text; mysqli turns them on for it with COM_SET_OPTION.
  $c->multi_query('SELECT email FROM customers WHERE id = 1; SELECT phone FROM customers WHERE id = 1');
  $multi = [];
  do {
    $multi = array_merge($multi, $c->store_result()->fetch_all(MYSQLI_NUM));
  } while ($c->next_result());
  $out['multi'] = $multi;
  $out['multi_refused'] = error_of(fn () => $c->multi_query("INSERT INTO orders (customer_id, item) VALUES (2, '$tag-multi'); DROP TABLE orders"));
  $out['after_multi_refused'] = $c->query('SELECT 2')->fetch_all(MYSQLI_NUM);
  // query() turns multi-statements off again (COM_SET_OPTION): the same kind of text is refused.
  $out['multi_off'] = error_of(fn () => $c->query("INSERT INTO orders (customer_id, item) VALUES (2, '$tag-single'); INSERT INTO orders (customer_id, item) VALUES (2, '$tag-single')"));
  $c->close();

  $out['no_tls'] = error_of(fn () => mysqli_connect_with(false));
  $out['untrusted'] = error_of(fn () => mysqli_connect_with(true, null, 0, UNTRUSTED_CA));
  $out['bad_token'] = error_of(fn () => mysqli_connect_with(true, 'not-a-token'));
}
echo json_encode($out), "\n";
