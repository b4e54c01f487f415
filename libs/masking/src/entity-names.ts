import { wordsOf } from './name-words.js';
import type { MaskEntity } from './types.js';

/*
 * What a column's name says it holds. Entity masking finds an e-mail or a card number by its shape,
 * and a value computed from one can lose that shape: `replace(email, '@', ' at ')`,
 * `translate(ssn, '0123456789', 'abcdefghij')`, `substr(card, 1, 4)`, `string_to_array(card, NULL)`.
 * A statement that computes values from a column named for an entity the policy masks has those
 * values masked whole (see entityDerivedStyle), as values derived from a column rule are.
 *
 * The names are matched by words (`customer_email`, `cardNumber`, `"Tax-Id"`), so a name that merely
 * contains the letters (`cardinality`, `mailbox_size`) does not count.
 */

const WORDS: Readonly<Record<MaskEntity, ReadonlySet<string>>> = {
  email: new Set(['email', 'emails', 'mail', 'mails', 'mailaddress', 'emailaddress', 'emailaddr', 'mailto', 'upn']),
  card: new Set(['card', 'cards', 'pan', 'cc', 'ccn', 'ccnum', 'cardno', 'cardnum', 'cardnumber', 'creditcard', 'debitcard']),
  ssn: new Set(['ssn', 'ssns', 'ssnum', 'socsec', 'taxid', 'tin', 'itin', 'nino', 'sozialversicherungsnummer']),
  iban: new Set(['iban', 'ibans', 'bban']),
  phone: new Set(['phone', 'phones', 'telephone', 'tel', 'tele', 'mobile', 'cell', 'cellphone', 'fax', 'msisdn', 'sms', 'whatsapp']),
  ip: new Set(['ip', 'ips', 'ipaddr', 'ipaddress', 'ipv4', 'ipv6', 'inet']),
  jwt: new Set(['jwt', 'jwts', 'token', 'tokens', 'bearer', 'idtoken']),
  cloud_key: new Set(['apikey', 'apikeys', 'secret', 'secrets', 'accesskey', 'secretkey', 'privatekey', 'credential', 'credentials', 'password', 'passwd']),
};

/** Adjacent word pairs that name an entity (`social_security`, `credit_card`, `api_key`). */
const PAIRS: readonly (readonly [string, string, MaskEntity])[] = [
  ['social', 'security', 'ssn'],
  ['soc', 'sec', 'ssn'],
  ['tax', 'id', 'ssn'],
  ['tax', 'number', 'ssn'],
  ['credit', 'card', 'card'],
  ['card', 'number', 'card'],
  ['e', 'mail', 'email'],
  ['ip', 'address', 'ip'],
  ['api', 'key', 'cloud_key'],
  ['access', 'key', 'cloud_key'],
  ['secret', 'key', 'cloud_key'],
  ['private', 'key', 'cloud_key'],
  ['bank', 'account', 'iban'],
  ['account', 'number', 'iban'],
];

/** Stems unambiguous enough to count inside a longer word (`customeremail`, `homephone`: names folded to lower case). */
const STEMS: readonly (readonly [string, MaskEntity])[] = [
  ['email', 'email'],
  ['phone', 'phone'],
  ['mobile', 'phone'],
  ['creditcard', 'card'],
  ['cardnumber', 'card'],
  ['ipaddr', 'ip'],
  ['apikey', 'cloud_key'],
  ['secretkey', 'cloud_key'],
  ['password', 'cloud_key'],
];


const memo = new Map<string, readonly MaskEntity[]>();
const MEMO_LIMIT = 4096;

/** The entities a column (or key) name says its values are, e.g. `customer_email` → email. */
export function entitiesNamedBy(name: string): readonly MaskEntity[] {
  const known = memo.get(name);
  if (known) return known;
  const found = new Set<MaskEntity>();
  const words = wordsOf(name);
  words.forEach((word, i) => {
    for (const entity of Object.keys(WORDS) as MaskEntity[]) if (WORDS[entity].has(word)) found.add(entity);
    for (const [stem, entity] of STEMS) if (word.includes(stem)) found.add(entity);
    const next = words[i + 1];
    if (next !== undefined) for (const [a, b, entity] of PAIRS) if (a === word && b === next) found.add(entity);
  });
  const entities = [...found];
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(name, entities);
  return entities;
}
