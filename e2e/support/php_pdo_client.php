<?php
// PHP PDO_PGSQL (Debian's php8.2-pgsql, libpq-based) through the gateway: masked rows, a prepared
// statement with a parameter (server-side, PDO::ATTR_EMULATE_PREPARES off), a denied statement with its
// SQLSTATE, and the connection still usable afterwards. Reads GW_DSN ("pgsql:host=...;sslmode=require"),
// GW_USER and GW_TOKEN (the password) and prints one JSON object; the e2e test
// (postgres-client-matrix.test.ts) asserts on it.
$out = [];
$pdo = new PDO(getenv('GW_DSN'), getenv('GW_USER'), getenv('GW_TOKEN'), [
    PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
    PDO::ATTR_EMULATE_PREPARES => false,
]);
$out['masked'] = $pdo->query('SELECT email, card, ssn FROM customers WHERE id = 1')->fetch(PDO::FETCH_NUM);
$stmt = $pdo->prepare('SELECT email, card FROM customers WHERE id = :id');
$out['param'] = [];
foreach ([2, 1] as $id) {
    $stmt->execute(['id' => $id]);
    $out['param'][] = $stmt->fetch(PDO::FETCH_NUM);
}
try {
    $pdo->prepare('DELETE FROM orders WHERE id = ?')->execute([1]);
    $out['denied'] = 'not refused';
} catch (PDOException $e) {
    $out['denied'] = ['sqlstate' => $e->getCode(), 'message' => $e->errorInfo[2] ?? $e->getMessage()];
}
$out['after_denied'] = (int) $pdo->query('SELECT count(*) FROM orders WHERE id = 1')->fetchColumn();
echo json_encode($out), "\n";
