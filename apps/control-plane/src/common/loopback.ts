/** Whether a socket's remote address is this host (IPv4, IPv6 or IPv4-mapped): cleartext logins are allowed only from there, and only when configured. */
export const isLoopback = (address: string | undefined): boolean =>
  !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
