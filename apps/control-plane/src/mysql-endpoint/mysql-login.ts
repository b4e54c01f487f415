/**
 * How a MySQL client names the resource: its user name is `<db user>@<resource>`, cut at the last `@`
 * (resource names never hold one). The schema stays the client's own, as with any MySQL server, so
 * `mysqldump <schema>`, `USE` and drivers' `database` options keep their meaning; the alternative
 * (schema = resource) would take the schema away from the client and break those tools.
 */
export function parseMysqlLogin(user: string): { dbUser: string; resource: string } | { error: string } {
  const at = user.lastIndexOf('@');
  if (at <= 0 || at === user.length - 1) {
    return { error: `user must be "<db user>@<resource>" (for example app@shop-db), got "${user.slice(0, 100)}"` };
  }
  return { dbUser: user.slice(0, at), resource: user.slice(at + 1) };
}

/** The token out of a mysql_clear_password answer (clients send it NUL-terminated). */
export function tokenFromClearPassword(data: Buffer): string {
  const end = data.length > 0 && data[data.length - 1] === 0 ? data.length - 1 : data.length;
  return data.subarray(0, end).toString('utf8');
}
