import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';

/*
 * Where webhooks may not go. Private and loopback receivers are allowed on purpose (see webhook-url.ts),
 * but link-local addresses serve no receiver: they are where cloud instances serve their metadata and
 * credentials (169.254.169.254, fd00:ec2::254), which a webhook could otherwise read back through its
 * delivery errors. Checked on the literal address of the URL and on every address a host name resolves
 * to when the connection is made, so a name that later resolves elsewhere (DNS rebinding) is caught too.
 */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');

/** Whether an IP address (v4, v6, or v4-mapped v6) is one webhooks may not reach. */
export function isForbiddenWebhookAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return FORBIDDEN.check(mapped[1]!, 'ipv4');
  const family = isIP(bare);
  if (family === 4) return FORBIDDEN.check(bare, 'ipv4');
  if (family === 6) return FORBIDDEN.check(bare, 'ipv6');
  return false;
}

export const FORBIDDEN_DESTINATION = 'link-local addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254: cloud metadata) are not webhook receivers';

type Resolver = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that refuses a host name any of whose addresses is forbidden. */
export function guardedLookup(resolve: Resolver = dnsLookup): LookupFunction {
  const lookup = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = addresses.find((a) => isForbiddenWebhookAddress(a.address));
      if (bad || addresses.length === 0) {
        const refusal: NodeJS.ErrnoException = new Error(bad ? `${hostname} resolves to ${bad.address}: ${FORBIDDEN_DESTINATION}` : `${hostname} has no address`);
        refusal.code = 'EGW_FORBIDDEN_DESTINATION';
        return callback(refusal, []);
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  return lookup;
}

/** The connection pool webhook deliveries use: every connection's addresses pass the check above. */
export const webhookDispatcher = new Agent({ connect: { lookup: guardedLookup() } });
