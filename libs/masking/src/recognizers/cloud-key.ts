import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

interface KeyPattern {
  readonly name: string;
  /** Must have a `key` named group: the secret part that gets masked. */
  readonly pattern: RegExp;
  /** Literal that must appear for the pattern to be worth running (case-insensitively for `i` patterns). */
  readonly marker: string;
}

/**
 * Credential formats with a recognisable shape (vendors' documented prefixes). A generic 40-character
 * string is only an AWS secret when it is the value of a key that says so: on its own it could be
 * anything (a SHA-1, a base64 blob).
 */
const KEY_PATTERNS: readonly KeyPattern[] = [
  {
    name: 'aws-access-key-id',
    marker: 'A',
    pattern: /(?<![A-Za-z0-9])(?<key>(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16})(?![A-Za-z0-9])/g,
  },
  {
    // The key's name in snake, camel or kebab case (`aws-secret-access-key:` in GitHub Actions) or in
    // words with `aws configure`'s current value (`AWS Secret Access Key [None]: `, an SSH session),
    // then `=`, `:`, `=>` or the end of an XML start tag (`<SecretAccessKey>…`, the STS API's answer).
    name: 'aws-secret-access-key',
    marker: 'secret',
    pattern:
      /(?:aws[ _-]?secret[ _-]?access[ _-]?key|aws[_-]?secret[_-]?key|secret[_-]?access[_-]?key)["']?[ \t]{0,8}(?:\[[^\]\r\n]{0,48}\][ \t]{0,8})?(?:[:=]|=>|>)[ \t]{0,8}["']?(?<key>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
  },
  { name: 'gcp-api-key', marker: 'AIza', pattern: /(?<![A-Za-z0-9_-])(?<key>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])/g },
  {
    // In a connection string (`;AccountKey=…;`), or quoted or spaced in a configuration file or code
    // (`AccountKey="…"`, `"accountKey": '…'`, `AccountKey => …`).
    name: 'azure-storage-account-key',
    marker: 'AccountKey',
    pattern: /AccountKey["']?[ \t]{0,8}(?:[:=]|=>)[ \t]{0,8}["']?(?<key>[A-Za-z0-9+/]{20,120}={0,2})/gi,
  },
  {
    // Under a snake- or kebab-case name (`account_key = …`, `azure-storage-account-key: …`), which is also
    // what a warehouse calls a surrogate key: only an Azure storage key's exact shape counts there, 64
    // bytes in base64 (86 characters and `==`).
    name: 'azure-storage-account-key-snake',
    marker: 'account',
    pattern: /account[_-]key["']?[ \t]{0,8}(?:[:=]|=>)[ \t]{0,8}["']?(?<key>[A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])/gi,
  },
  // Service Bus, Event Hubs and IoT Hub connection strings carry their key the same way.
  { name: 'azure-shared-access-key', marker: 'SharedAccessKey=', pattern: /SharedAccessKey=(?<key>[A-Za-z0-9+/]{20,120}={0,2})/gi },
  { name: 'github-token', marker: 'gh', pattern: /(?<![A-Za-z0-9_])(?<key>gh[pousr]_[A-Za-z0-9]{36,251})(?![A-Za-z0-9_])/g },
  { name: 'github-fine-grained-token', marker: 'github_pat_', pattern: /(?<![A-Za-z0-9_])(?<key>github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g },
  { name: 'slack-token', marker: 'xox', pattern: /(?<![A-Za-z0-9_-])(?<key>xox[abposr]-[A-Za-z0-9-]{10,250})(?![A-Za-z0-9_-])/g },
  // App-level tokens (Socket Mode): `xapp-1-A0123456789-1234567890123-<64 hex>`.
  { name: 'slack-app-token', marker: 'xapp-', pattern: /(?<![A-Za-z0-9_-])(?<key>xapp-[A-Za-z0-9-]{10,250})(?![A-Za-z0-9_-])/g },
  {
    // An incoming-webhook URL is its own credential: anyone holding it can post. The path after
    // `services/` (team, bot and secret) is masked; the host stays, so a reader sees what it was.
    name: 'slack-webhook-url',
    marker: 'hooks.slack.com/services/',
    pattern: /hooks\.slack\.com\/services\/(?<key>T[A-Z0-9]{6,16}\/B[A-Z0-9]{6,16}\/[A-Za-z0-9]{16,64})(?![A-Za-z0-9])/g,
  },
  // Secret and restricted keys; publishable keys (`pk_live_…`) are public by design and stay visible.
  { name: 'stripe-key', marker: 'k_', pattern: /(?<![A-Za-z0-9_])(?<key>[sr]k_(?:live|test)_[0-9A-Za-z]{16,247})(?![A-Za-z0-9_])/g },
  // Webhook signing secrets (Stripe: alphanumeric; Svix and others use the same prefix with base64).
  { name: 'webhook-signing-secret', marker: 'whsec_', pattern: /(?<![A-Za-z0-9_])(?<key>whsec_[A-Za-z0-9+/]{24,128}={0,2})(?![A-Za-z0-9_+/=])/g },
  { name: 'gitlab-token', marker: 'glpat-', pattern: /(?<![A-Za-z0-9_-])(?<key>glpat-[0-9A-Za-z_-]{20,64})(?![A-Za-z0-9_-])/g },
  { name: 'npm-token', marker: 'npm_', pattern: /(?<![A-Za-z0-9_])(?<key>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])/g },
  { name: 'openai-key', marker: 'sk-', pattern: /(?<![A-Za-z0-9_-])(?<key>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,200})(?![A-Za-z0-9_-])/g },
  { name: 'google-oauth-client-secret', marker: 'GOCSPX-', pattern: /(?<![A-Za-z0-9_-])(?<key>GOCSPX-[A-Za-z0-9_-]{28})(?![A-Za-z0-9_-])/g },
  {
    // The body of a PEM private key (any algorithm, encrypted or not), or of an OpenPGP armoured
    // `PRIVATE KEY BLOCK`; the armour lines stay readable.
    name: 'pem-private-key',
    marker: 'PRIVATE KEY',
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?<key>[\s\S]{16,16384}?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g,
  },
  {
    // A block cut short, without its END line (`head -5 id_rsa`, a truncated column): its base64 lines
    // up to the first line that is not one. Lines are broken by real line breaks or by the `\n` escapes
    // of a JSON or SQL string. A complete block is claimed by the pattern above first.
    name: 'pem-private-key-unterminated',
    marker: 'PRIVATE KEY',
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?<key>(?:(?:[ \t]*(?:\r?\n|(?:\\r)?\\n))+[A-Za-z0-9+/=]{1,128}(?![^\s\\])){1,512})/g,
  },
];

export const cloudKeyRecognizer: Recognizer = {
  entity: 'cloud_key',
  mayMatch: (text) => text.length >= 20,
  find(text) {
    let lower: string | undefined;
    const found: EntityMatch[] = [];
    for (const { pattern, marker } of KEY_PATTERNS) {
      // A case-sensitive pattern needs its marker as written; only `i` patterns need the lower-cased text.
      if (pattern.ignoreCase) {
        lower ??= text.toLowerCase();
        if (!lower.includes(marker.toLowerCase())) continue;
      } else if (!text.includes(marker)) continue;
      for (const m of allMatches(pattern, text)) {
        const key = m.groups?.['key'];
        if (key === undefined) continue;
        const start = m.index + m[0].lastIndexOf(key);
        found.push({ entity: 'cloud_key', start, end: start + key.length, normalized: key });
      }
    }
    return found;
  },
};
