import { FORBIDDEN_DESTINATION, isForbiddenWebhookAddress } from './webhook-destination.js';

/**
 * Receiver URLs: http or https only, no user:password (it would be stored and shown like any other
 * field; the signature authenticates deliveries), no fragment (never sent). Private and loopback
 * addresses are allowed on purpose: the gateway runs on-premises and its receivers (chat bridges,
 * ticketing, SOAR) usually live on the internal network; link-local ones are not (webhook-destination.ts).
 * Redirects are never followed.
 */
export function webhookUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a valid absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.username || url.password) return 'credentials in the URL are not allowed; deliveries are authenticated by the signature header';
  if (url.hash) return 'a URL fragment is never sent; remove it';
  if (!url.hostname) return 'the URL needs a host';
  if (isForbiddenWebhookAddress(url.hostname)) return FORBIDDEN_DESTINATION;
  return undefined;
}

/**
 * The URL as shown after creation: scheme, host and port only. The path and query may be the
 * credential itself (a Slack incoming webhook is `https://hooks.slack.com/services/T…/B…/<secret>`).
 */
export function displayWebhookUrl(raw: string): string {
  const url = new URL(raw);
  const hidden = (url.pathname !== '/' && url.pathname !== '') || url.search !== '';
  return hidden ? `${url.origin}/…` : url.origin;
}
