# What users of Perl's DBI with DBD::MariaDB (Debian libdbd-mariadb-perl, on MariaDB Connector/C) do
# through the gateway: run by e2e/mysql-client-matrix.test.ts. Prints one JSON object of outcomes.
# GW_HOST, GW_PORT, GW_USER, GW_PASSWORD (the token), GW_DB, GW_CA (the endpoint's certificate), GW_TAG.
use strict;
use warnings;
use DBI;
use JSON::PP;

my ($host, $port, $user, $password, $db, $ca, $tag) = @ENV{qw(GW_HOST GW_PORT GW_USER GW_PASSWORD GW_DB GW_CA GW_TAG)};
my $tls = "mariadb_ssl=1;mariadb_ssl_verify_server_cert=1;mariadb_ssl_ca_file=$ca";

sub connect_with {
  my ($options, $secret) = @_;
  return DBI->connect("DBI:MariaDB:database=$db;host=$host;port=$port;$options", $user, $secret // $password,
    { RaiseError => 0, PrintError => 0, AutoCommit => 1 });
}
sub error_of { my ($handle) = @_; return [ $handle->err + 0, $handle->errstr ]; }

my %out;
my $c = connect_with($tls) or die "connect: $DBI::errstr\n";
$out{rows} = $c->selectall_arrayref('SELECT id, email, card, phone FROM customers ORDER BY id');

# Placeholders: emulated in the client by default, real prepared statements (binary rows) with
# mariadb_server_prepare.
$out{param} = $c->selectall_arrayref('SELECT email, card FROM customers WHERE id = ?', undef, 1);
my $server = connect_with("$tls;mariadb_server_prepare=1") or die "connect: $DBI::errstr\n";
my $prepared = $server->prepare('SELECT email, card, card_number FROM customers WHERE id = ?');
$out{server_prepared} = [ map { $prepared->execute($_); $prepared->fetchall_arrayref } (1, 2) ];
$server->disconnect;

# A large result, read row by row. (mariadb_use_result, which would stream it, returns no rows at
# all in DBD::MariaDB 1.22 on Debian's Connector/C, straight to the server as well.)
my $stream = $c->prepare('SELECT email FROM people ORDER BY id');
$stream->execute or die 'streamed SELECT: ' . $stream->errstr . "\n";
my ($count, $leaked, $first) = (0, 0, undef);
while (my ($email) = $stream->fetchrow_array) {
  $first //= $email;
  $count++;
  $leaked++ if $email =~ /^u\d+\@/;
}
$out{streamed} = { rows => $count, leaked => $leaked, first => $first };

$c->do('DROP TABLE orders') and die "DROP TABLE ran\n";
$out{denied} = error_of($c);
$out{after_denied} = $c->selectall_arrayref('SELECT 1');
$c->selectall_arrayref('SELECT * FROM secrets') and die "secrets were read\n";
$out{forbidden} = error_of($c);
$c->do("INSERT INTO customers (id, name) VALUES (1, 'again')") and die "duplicate inserted\n";
$out{duplicate} = error_of($c);

$c->begin_work;
$c->do('INSERT INTO orders (customer_id, item) VALUES (1, ?)', undef, "$tag-undone");
$c->do('TRUNCATE TABLE orders') and die "TRUNCATE ran\n";
$out{denied_in_transaction} = error_of($c);
$c->rollback;
$c->do('INSERT INTO orders (customer_id, item) VALUES (1, ?)', undef, "$tag-kept");
$c->disconnect;

my $m = connect_with("$tls;mariadb_multi_statements=1") or die "connect: $DBI::errstr\n";
my $multi = $m->prepare('SELECT email FROM customers WHERE id = 1; SELECT phone FROM customers WHERE id = 1');
$multi->execute;
my @sets = ($multi->fetchall_arrayref);
push @sets, $multi->fetchall_arrayref while $multi->more_results;
$out{multi} = \@sets;
$m->do("INSERT INTO orders (customer_id, item) VALUES (2, '$tag-multi'); DROP TABLE orders") and die "multi ran\n";
$out{multi_refused} = error_of($m);
$m->disconnect;

connect_with('') and die "a login without TLS was let in\n";
$out{no_tls} = [ $DBI::err + 0, $DBI::errstr ];
connect_with($tls, 'not-a-token') and die "a bad token was let in\n";
$out{bad_token} = [ $DBI::err + 0, $DBI::errstr ];
print JSON::PP->new->canonical->encode(\%out), "\n";
