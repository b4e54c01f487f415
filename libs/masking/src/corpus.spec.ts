import { describe, expect, it } from 'vitest';

import { luhnValid } from './recognizers/card.js';
import { findEntities } from './scan.js';
import { MASK_ENTITIES, type MaskEntity } from './types.js';

const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const JWT = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url('{"sub":"42","name":"Ada"}')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
const JWT_NONE = `${b64url('{"alg":"none"}')}.${b64url('{"sub":"1"}')}.`;
// Assembled from pieces so that secret scanners do not flag the test file itself.
const AWS_ID = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const AWS_SESSION_ID = ['ASIA', 'Y34FZKBOKMUTVV7A'].join('');
const AWS_SECRET = ['wJalrXUtnFEMI', '/K7MDENG/bPxRfiCYEXAMPLEKEY'].join('');
const GCP = ['AIza', 'SyA-1234567890abcdefghijklmnopqrstu'].join('');
const AZURE_KEY = ['Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq', '/K1SZFPTOtr/KBHBeksoGMGw=='].join('');
const GH = ['ghp_', '16C7e42F292c6912E7710c838347Ae178B4a'].join('');
const GH_PAT = ['github_pat_', '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ'].join('');
const SLACK = ['xoxb-', '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'].join('');
const STRIPE = ['sk_live_', '4eC39HqLyjWDarjtT1zdp7dc'].join('');
const GITLAB = ['glpat-', 'Abcdefghij0123456789'].join('');
const NPM = ['npm_', 'abcdefghijklmnopqrstuvwxyz0123456789'].join('');
const OPENAI = ['sk-proj-', 'Abcdefghijklmnopqrstuvwxyz0123456789ABCD'].join('');
const PEM_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
// JOSE headers as some libraries print them: a space or a line break after the brace (not `eyJ…`).
const JWT_SPACED = `${b64url('{ "alg": "HS256", "typ": "JWT" }')}.${b64url('{"sub":"42"}')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
const JWT_NEWLINE = `${b64url('{\n  "alg": "RS256"\n}')}.${b64url('{"sub":"42"}')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
const JWT_TAB = `${b64url('{\t"alg":"ES256"}')}.${b64url('{"sub":"42"}')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
// Headers that do not start with `{` (JSON allows whitespace before it; jose's TextDecoder drops a
// byte-order mark), padded parts, keys in another order.
const padded = (s: string) => Buffer.from(s, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
const SIG = 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const JWT_LEADING_LF = `${b64url('\n{"alg":"HS256","typ":"JWT"}')}.${b64url('{"sub":"42"}')}.${SIG}`;
const JWT_LEADING_SPACES = `${b64url('  {  "alg" : "none" }')}.${b64url('{"sub":"42"}')}.`;
const JWT_CRLF = `${b64url('\r\n{"kid":"k1",\r\n"alg":"RS256"}\r\n')}.${b64url('{"sub":"42"}')}.${SIG}`;
const JWT_BOM = `${b64url('\ufeff{"alg":"ES256"}')}.${b64url('{"sub":"42"}')}.${SIG}`;
const JWT_PADDED = `${padded('{"alg":"HS256"}')}.${padded('{"sub":"1"}')}.${SIG}`;
const JWT_TYP_FIRST_PADDED = `${padded('{"typ":"JWT","alg":"HS256"}')}.${padded('{"sub":"1"}')}.${padded('sg')}`;
const JWE_LEADING_SPACE = `${b64url(' {"enc":"A256GCM","alg":"dir"}')}..AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.9hH0vgRfYgPnAHOd8stkvw`;
// Encrypted tokens (JWE): five parts; with `alg: dir` the encrypted key is empty.
const JWE = `${b64url('{"alg":"RSA-OAEP-256","enc":"A256GCM"}')}.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ`;
const JWE_DIR = `${b64url('{"alg":"dir","enc":"A128CBC-HS256"}')}..AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.9hH0vgRfYgPnAHOd8stkvw`;
const SLACK_APP = ['xapp-', '1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'].join('');
const SLACK_HOOK_PATH = ['T00000000/B00000000/', 'XXXXXXXXXXXXXXXXXXXXXXXX'].join('');
const STRIPE_RESTRICTED = ['rk_live_', '51H8fSaJ2eZvKYlo2C0123456789abcdef'].join('');
const STRIPE_PUBLISHABLE = ['pk_live_', '51H8fSaJ2eZvKYlo2C0123456789abcdef'].join('');
const WHSEC = ['whsec_', '5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH'].join('');

interface Case {
  readonly text: string;
  /** Every occurrence the recognizers must report, in order; empty = must stay visible. */
  readonly found: readonly (readonly [MaskEntity, string])[];
  readonly region?: 'US' | 'GB' | 'DE';
}

const TRUE_POSITIVES: readonly Case[] = [
  // e-mail
  { text: 'contact jane.doe+news@example.co.uk today', found: [['email', 'jane.doe+news@example.co.uk']] },
  { text: '{"email":"Bob_Smith@Mail.Example.COM","id":3}', found: [['email', 'Bob_Smith@Mail.Example.COM']] },
  { text: '3,alice@example.org,active', found: [['email', 'alice@example.org']] },
  { text: '<a href="mailto:x.y@sub.domain.io">', found: [['email', 'x.y@sub.domain.io']] },
  // payment cards
  { text: 'card 4111 1111 1111 1111 exp 12/29', found: [['card', '4111 1111 1111 1111']] },
  { text: '{"pan":"5555555555554444"}', found: [['card', '5555555555554444']] },
  { text: 'amex 3782-822463-10005,', found: [['card', '3782-822463-10005']] },
  { text: '7,6011111111111117,USD', found: [['card', '6011111111111117']] },
  { text: 'jcb 3530111333300000.', found: [['card', '3530111333300000']] },
  { text: 'mc2 2223003122003222', found: [['card', '2223003122003222']] },
  { text: 'visa 4012-8888-8888-1881 and 2024', found: [['card', '4012-8888-8888-1881']] },
  { text: 'ref 4111 1111 1111 1111 2024', found: [['card', '4111 1111 1111 1111']] },
  // SSN
  { text: 'SSN: 536-22-1234', found: [['ssn', '536-22-1234']] },
  { text: '{"ssn":"234-56-7890"}', found: [['ssn', '234-56-7890']] },
  { text: 'social security number 536221234', found: [['ssn', '536221234']] },
  { text: 'name,ssn\nAda,772-10-4321', found: [['ssn', '772-10-4321']] },
  // IBAN
  { text: 'IBAN DE89 3704 0044 0532 0130 00 please', found: [['iban', 'DE89 3704 0044 0532 0130 00']] },
  { text: '"iban":"GB82WEST12345698765432"', found: [['iban', 'GB82WEST12345698765432']] },
  { text: 'pay to NL91ABNA0417164300.', found: [['iban', 'NL91ABNA0417164300']] },
  { text: 'FR14 2004 1010 0505 0001 3M02 606', found: [['iban', 'FR14 2004 1010 0505 0001 3M02 606']] },
  // phone numbers
  { text: 'call +1 (415) 555-2671 now', found: [['phone', '+1 (415) 555-2671']] },
  { text: 'tel: +44 20 7946 0958', found: [['phone', '+44 20 7946 0958']] },
  { text: 'office (415) 555-2671', found: [['phone', '(415) 555-2671']], region: 'US' },
  { text: 'London 020 7946 0958', found: [['phone', '020 7946 0958']], region: 'GB' },
  { text: '{"phone":"+4930901820"}', found: [['phone', '+4930901820']] },
  // IP addresses
  { text: 'from 192.168.1.20 at noon', found: [['ip', '192.168.1.20']] },
  { text: 'client=10.0.0.1;', found: [['ip', '10.0.0.1']] },
  { text: 'v6 2001:db8::8a2e:370:7334.', found: [['ip', '2001:db8::8a2e:370:7334']] },
  { text: '["::ffff:192.0.2.1"]', found: [['ip', '::ffff:192.0.2.1']] },
  { text: 'gw fe80::1', found: [['ip', 'fe80::1']] },
  // JWT
  { text: `Authorization: Bearer ${JWT}`, found: [['jwt', JWT]] },
  { text: `{"token":"${JWT_NONE}"}`, found: [['jwt', JWT_NONE]] },
  // cloud keys
  { text: `aws_access_key_id=${AWS_ID}`, found: [['cloud_key', AWS_ID]] },
  { text: `"AccessKeyId": "${AWS_SESSION_ID}"`, found: [['cloud_key', AWS_SESSION_ID]] },
  { text: `aws_secret_access_key = ${AWS_SECRET}`, found: [['cloud_key', AWS_SECRET]] },
  { text: `"SecretAccessKey":"${AWS_SECRET}"`, found: [['cloud_key', AWS_SECRET]] },
  { text: `key=${GCP}&q=1`, found: [['cloud_key', GCP]] },
  { text: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${AZURE_KEY};EndpointSuffix=core.windows.net`, found: [['cloud_key', AZURE_KEY]] },
  { text: `token ${GH}`, found: [['cloud_key', GH]] },
  { text: `GH_TOKEN=${GH_PAT}`, found: [['cloud_key', GH_PAT]] },
  { text: `slack ${SLACK}`, found: [['cloud_key', SLACK]] },
  { text: `STRIPE_KEY=${STRIPE}`, found: [['cloud_key', STRIPE]] },
  { text: `token: ${GITLAB}`, found: [['cloud_key', GITLAB]] },
  { text: `//registry.npmjs.org/:_authToken=${NPM}`, found: [['cloud_key', NPM]] },
  { text: `OPENAI_API_KEY="${OPENAI}"`, found: [['cloud_key', OPENAI]] },
  { text: `-----BEGIN PRIVATE KEY-----\n${PEM_BODY}\n-----END PRIVATE KEY-----`, found: [['cloud_key', `\n${PEM_BODY}\n`]] },
  { text: `-----BEGIN OPENSSH PRIVATE KEY-----\n${PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----`, found: [['cloud_key', `\n${PEM_BODY}\n`]] },
  // other printed forms
  { text: 'ssn 536 22 8714.', found: [['ssn', '536 22 8714']] },
  { text: 'iban: gb82 west 1234 5698 7654 32', found: [['iban', 'gb82 west 1234 5698 7654 32']] },
  // several entities in one row
  {
    text: 'Ada Lovelace,ada@example.com,+44 20 7946 0958,4111111111111111,10.1.2.3',
    found: [['email', 'ada@example.com'], ['phone', '+44 20 7946 0958'], ['card', '4111111111111111'], ['ip', '10.1.2.3']],
  },
  {
    text: '{"user":{"mail":"a@b.io","ssn":"536-22-1234","iban":"DE89370400440532013000"}}',
    found: [['email', 'a@b.io'], ['ssn', '536-22-1234'], ['iban', 'DE89370400440532013000']],
  },
  // --- numbers and spelled-out variants (security issue: values that slipped past the recognizers) ---
  // cards with other separators, in any mix, and every major brand
  { text: 'pan 4111.1111.1111.1111', found: [['card', '4111.1111.1111.1111']] },
  { text: 'pan 4111_1111_1111_1111', found: [['card', '4111_1111_1111_1111']] },
  { text: 'pan 4111/1111/1111/1111', found: [['card', '4111/1111/1111/1111']] },
  { text: 'pan 4111-1111 1111.1111', found: [['card', '4111-1111 1111.1111']] },
  { text: 'pan 4111 - 1111 - 1111 - 1111', found: [['card', '4111 - 1111 - 1111 - 1111']] },
  { text: 'pan 5555_5555_5555_4444', found: [['card', '5555_5555_5555_4444']] },
  { text: 'amex 378282246310005', found: [['card', '378282246310005']] },
  { text: 'amex 3782.822463.10005', found: [['card', '3782.822463.10005']] },
  { text: 'discover 6011000990139424', found: [['card', '6011000990139424']] },
  { text: 'mc 2223000048400011', found: [['card', '2223000048400011']] },
  { text: 'jcb 3566/0020/2036/0505', found: [['card', '3566/0020/2036/0505']] },
  { text: 'unionpay 6200000000000005', found: [['card', '6200000000000005']] },
  { text: 'diners 36227206271667 and 30569309025904', found: [['card', '36227206271667'], ['card', '30569309025904']] },
  // cards as numbers: negative, with a fraction, float8 and money output, a JSON number, arrays
  { text: 'n -4111111111111111', found: [['card', '4111111111111111']] },
  { text: 'total 4111111111111111.25', found: [['card', '4111111111111111']] },
  { text: 'x 4111111111111111.0', found: [['card', '4111111111111111']] },
  { text: 'f 4.111111111111111e+15', found: [['card', '4.111111111111111e+15']] },
  { text: 'f 5.555555555554444E15', found: [['card', '5.555555555554444E15']] },
  { text: 'f 4.111111111111111E+015', found: [['card', '4.111111111111111E+015']] },
  { text: 'm $4,111,111,111,111,111.00', found: [['card', '4,111,111,111,111,111']] },
  { text: '{"pan":4111111111111111,"n":1}', found: [['card', '4111111111111111']] },
  { text: '{4111111111111111,5555555555554444}', found: [['card', '4111111111111111'], ['card', '5555555555554444']] },
  // compatibility characters: fullwidth, other scripts' digits, zero-width characters in between
  { text: 'pan ４１１１ １１１１ １１１１ １１１１', found: [['card', '４１１１ １１１１ １１１１ １１１１']] },
  { text: 'pan ٤١١١١١١١١١١١١١١١', found: [['card', '٤١١١١١١١١١١١١١١١']] },
  { text: 'pan 4111\u200b1111\u200b1111\u200b1111!', found: [['card', '4111\u200b1111\u200b1111\u200b1111']] },
  { text: 'pan 4111\u00ad1111\u00ad1111\u00ad1111', found: [['card', '4111\u00ad1111\u00ad1111\u00ad1111']] },
  { text: 'ssn ５３６－２２－１２３４', found: [['ssn', '５３６－２２－１２３４']] },
  // IBANs with dashes, dots, lower case, fullwidth
  { text: 'iban DE89-3704-0044-0532-0130-00.', found: [['iban', 'DE89-3704-0044-0532-0130-00']] },
  { text: 'iban de89 3704 0044 0532 0130 00', found: [['iban', 'de89 3704 0044 0532 0130 00']] },
  { text: 'iban gb82-west-1234-5698-7654-32', found: [['iban', 'gb82-west-1234-5698-7654-32']] },
  { text: 'iban NL91.ABNA.0417.1643.00', found: [['iban', 'NL91.ABNA.0417.1643.00']] },
  { text: 'iban ＤＥ８９３７０４００４４０５３２０１３０００', found: [['iban', 'ＤＥ８９３７０４００４４０５３２０１３０００']] },
  // SSNs with dots, spaces, mixed separators
  { text: 'ssn 536.22.1234', found: [['ssn', '536.22.1234']] },
  { text: 'ssn 536 22-1234', found: [['ssn', '536 22-1234']] },
  { text: '{"ssn":536221234}', found: [['ssn', '536221234']] },
  // phone numbers: 00 prefix, national formats without a region, extensions, E.164 without + in context
  { text: 'call 0044 20 7946 0958', found: [['phone', '0044 20 7946 0958']] },
  { text: 'call 001 415 555 2671', found: [['phone', '001 415 555 2671']] },
  { text: 'national number without a region: (415) 555-0132', found: [['phone', '(415) 555-0132']] },
  { text: 'office 415.555.0132', found: [['phone', '415.555.0132']] },
  { text: 'office 415-555-2671,', found: [['phone', '415-555-2671']] },
  { text: 'London 020 7946 0958', found: [['phone', '020 7946 0958']] },
  { text: 'Berlin 030 901820', found: [['phone', '030 901820']] },
  { text: 'call +1 415-555-2671 ext. 123 now', found: [['phone', '+1 415-555-2671']] },
  { text: 'call (415) 555-2671 x42', found: [['phone', '(415) 555-2671']] },
  { text: 'tel +44 (0)20 7946 0958', found: [['phone', '+44 (0)20 7946 0958']] },
  { text: 'phone: 14155552671', found: [['phone', '14155552671']] },
  { text: '{"mobile":"447911123456"}', found: [['phone', '447911123456']] },
  { text: 'tel ＋１ ４１５ ５５５ ２６７１', found: [['phone', '＋１ ４１５ ５５５ ２６７１']] },
  // e-mail: one-letter local part, subaddress, upper case, quoted, unicode, IDN and punycode, fullwidth @
  { text: 'to x@y.io', found: [['email', 'x@y.io']] },
  { text: 'to ada+billing@example.com', found: [['email', 'ada+billing@example.com']] },
  { text: 'to ADA.LOVELACE@EXAMPLE.COM', found: [['email', 'ADA.LOVELACE@EXAMPLE.COM']] },
  { text: 'to "john doe"@example.com', found: [['email', '"john doe"@example.com']] },
  { text: 'to "a@b"@example.com', found: [['email', '"a@b"@example.com']] },
  { text: 'to josé.garcía@example.es', found: [['email', 'josé.garcía@example.es']] },
  { text: 'to 用户@例子.广告', found: [['email', '用户@例子.广告']] },
  { text: 'to ivan@пример.рф', found: [['email', 'ivan@пример.рф']] },
  { text: 'to info@xn--bcher-kva.de', found: [['email', 'info@xn--bcher-kva.de']] },
  { text: 'to ivan@xn--e1afmkfd.xn--p1ai', found: [['email', 'ivan@xn--e1afmkfd.xn--p1ai']] },
  { text: 'to ada＠example．com', found: [['email', 'ada＠example．com']] },
  { text: 'to ada@example。com', found: [['email', 'ada@example。com']] },
  { text: 'to ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ', found: [['email', 'ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ']] },
  { text: 'to ada@\u200bexample.com', found: [['email', 'ada@\u200bexample.com']] },
  // --- audit: spellings found unmasked ---
  // a phone number after a date in the same run: the date is dropped, the number still found
  { text: 'on 2024-01-15 (415) 555-2671', found: [['phone', '(415) 555-2671']], region: 'US' },
  // bare SSNs under snake_case and camelCase key names (JSON documents, key=value logs)
  { text: '{"customer_ssn":"536221234"}', found: [['ssn', '536221234']] },
  { text: 'ssn_number: 536221234', found: [['ssn', '536221234']] },
  { text: '{"socialSecurityNumber":536221234}', found: [['ssn', '536221234']] },
  // bare phone digits after a snake_case key
  { text: 'customer_tel: 4155552671', found: [['phone', '4155552671']] },
  { text: '{"fax_no":"14155552671"}', found: [['phone', '14155552671']] },
  // an address in a URL path or after a key is still one
  { text: 'GET /api/hosts/10.0.0.1 from http://192.168.1.20/admin', found: [['ip', '10.0.0.1'], ['ip', '192.168.1.20']] },
  // AWS secret keys under kebab-case names (GitHub Actions), in the STS XML answer, after `=>`
  { text: `aws-secret-access-key: ${AWS_SECRET}`, found: [['cloud_key', AWS_SECRET]] },
  { text: `<Credentials><SecretAccessKey>${AWS_SECRET}</SecretAccessKey>`, found: [['cloud_key', AWS_SECRET]] },
  { text: `'SecretAccessKey' => '${AWS_SECRET}',`, found: [['cloud_key', AWS_SECRET]] },
  { text: `AWS Secret Access Key [None]: ${AWS_SECRET}\r\n`, found: [['cloud_key', AWS_SECRET]] },
  { text: `AWS Secret Access Key [****************EKEY]: ${AWS_SECRET}`, found: [['cloud_key', AWS_SECRET]] },
  // Azure Service Bus / Event Hubs connection string
  {
    text: `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${AZURE_KEY}`,
    found: [['cloud_key', AZURE_KEY]],
  },
  // an OpenPGP armoured private key, and PEM blocks cut short before their END line
  { text: `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${PEM_BODY}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----`, found: [['cloud_key', `\n\n${PEM_BODY}\n=abcd\n`]] },
  { text: `-----BEGIN RSA PRIVATE KEY-----\r\n${PEM_BODY}\r\n${PEM_BODY}\r\n$ `, found: [['cloud_key', `\r\n${PEM_BODY}\r\n${PEM_BODY}`]] },
  { text: `{"private_key":"-----BEGIN PRIVATE KEY-----\\n${PEM_BODY}\\n${PEM_BODY}`, found: [['cloud_key', `\\n${PEM_BODY}\\n${PEM_BODY}`]] },
  // --- audit 2 ---
  // JWTs whose header does not start with `eyJ`, and encrypted tokens whole (all five parts)
  { text: `Authorization: Bearer ${JWT_SPACED}`, found: [['jwt', JWT_SPACED]] },
  { text: `token=${JWT_NEWLINE}&x=1`, found: [['jwt', JWT_NEWLINE]] },
  { text: `"${JWT_TAB}"`, found: [['jwt', JWT_TAB]] },
  { text: `id_token: ${JWE}.`, found: [['jwt', JWE]] },
  { text: `{"t":"${JWE_DIR}"}`, found: [['jwt', JWE_DIR]] },
  { text: `see ${JWT}.`, found: [['jwt', JWT]] },
  { text: `unsecured ${b64url('{ "alg": "none" }')}.${b64url('{"sub":"1"}')}.`, found: [['jwt', `${b64url('{ "alg": "none" }')}.${b64url('{"sub":"1"}')}.`]] },
  // Slack app tokens and incoming-webhook URLs, Stripe restricted keys and webhook secrets
  { text: `SLACK_APP_TOKEN=${SLACK_APP}`, found: [['cloud_key', SLACK_APP]] },
  { text: `curl -X POST https://hooks.slack.com/services/${SLACK_HOOK_PATH} -d @msg.json`, found: [['cloud_key', SLACK_HOOK_PATH]] },
  { text: `{"webhook":"https://hooks.slack.com/services/${SLACK_HOOK_PATH}"}`, found: [['cloud_key', SLACK_HOOK_PATH]] },
  { text: `STRIPE_KEY=${STRIPE_RESTRICTED}`, found: [['cloud_key', STRIPE_RESTRICTED]] },
  { text: `STRIPE_WEBHOOK_SECRET=${WHSEC}`, found: [['cloud_key', WHSEC]] },
  // Azure storage keys quoted, spaced, and under snake- and kebab-case names
  { text: `AccountKey="${AZURE_KEY}"`, found: [['cloud_key', AZURE_KEY]] },
  { text: `AccountKey='${AZURE_KEY}'`, found: [['cloud_key', AZURE_KEY]] },
  { text: `{"accountKey": "${AZURE_KEY}"}`, found: [['cloud_key', AZURE_KEY]] },
  { text: `account_key = ${AZURE_KEY}`, found: [['cloud_key', AZURE_KEY]] },
  { text: `azure-storage-account-key: '${AZURE_KEY}'`, found: [['cloud_key', AZURE_KEY]] },
  { text: `AZURE_STORAGE_ACCOUNT_KEY="${AZURE_KEY}"`, found: [['cloud_key', AZURE_KEY]] },
  // IBANs with double spaces or a tab between groups
  { text: 'iban DE89  3704 0044 0532 0130 00.', found: [['iban', 'DE89  3704 0044 0532 0130 00']] },
  { text: 'Ada\tGB82\tWEST 1234 5698 7654 32\tactive', found: [['iban', 'GB82\tWEST 1234 5698 7654 32']] },
  { text: 'iban NL91  ABNA  0417  1643  00', found: [['iban', 'NL91  ABNA  0417  1643  00']] },
  // e-mail addresses with an address literal: the whole address, not only the IP
  { text: 'to ada@[192.168.0.1] now', found: [['email', 'ada@[192.168.0.1]']] },
  { text: 'to ada@[IPv6:2001:db8::1].', found: [['email', 'ada@[IPv6:2001:db8::1]']] },
  { text: '"john doe"@[10.0.0.1]', found: [['email', '"john doe"@[10.0.0.1]']] },
  // SSNs grouped by underscores or slashes, after a word that names them
  { text: 'ssn 536_22_1234', found: [['ssn', '536_22_1234']] },
  { text: '{"social_security_number":"536/22/1234"}', found: [['ssn', '536/22/1234']] },
  // --- audit 3 ---
  // SSNs written with slashes or underscores, standing alone: no hint needed
  { text: 'batch 536/22/1234', found: [['ssn', '536/22/1234']] },
  { text: 'id 536_22_1234, (772/10/4321)', found: [['ssn', '536_22_1234'], ['ssn', '772/10/4321']] },
  { text: '"536/22/1234"', found: [['ssn', '536/22/1234']] },
  // other dashes than '-' (PDFs, word processors), in any mix; a hyphen after a word
  { text: '536–22–1234, 536—22—1234, 536−22−1234, 536‐22-1234', found: [['ssn', '536–22–1234'], ['ssn', '536—22—1234'], ['ssn', '536−22−1234'], ['ssn', '536‐22-1234']] },
  { text: 'EMP-536-22-1234', found: [['ssn', '536-22-1234']] },
  // a no-break space (NFKC: a space) and a fullwidth solidus (NFKC: '/')
  { text: '536 22 1234 and 536／22／1234', found: [['ssn', '536 22 1234'], ['ssn', '536／22／1234']] },
  // any other separator, or a path or identifier, after an SSN word
  { text: 'ssn: 536:22:1234', found: [['ssn', '536:22:1234']] },
  { text: 'SSN 536 - 22 - 1234', found: [['ssn', '536 - 22 - 1234']] },
  { text: 'ssn|536|22|1234', found: [['ssn', '536|22|1234']] },
  { text: 'tax id 536\\22\\1234', found: [['ssn', '536\\22\\1234']] },
  { text: '/people/ssn/536/22/1234', found: [['ssn', '536/22/1234']] },
  // JWTs by structure: whitespace or a byte-order mark before the header's brace, keys in any order,
  // padded parts, glued to a word by '_' or '-'
  { text: `t ${JWT_LEADING_LF}`, found: [['jwt', JWT_LEADING_LF]] },
  { text: `t=${JWT_LEADING_SPACES};`, found: [['jwt', JWT_LEADING_SPACES]] },
  { text: `"${JWT_CRLF}"`, found: [['jwt', JWT_CRLF]] },
  { text: `${JWT_BOM} x`, found: [['jwt', JWT_BOM]] },
  { text: `Bearer ${JWT_PADDED}`, found: [['jwt', JWT_PADDED]] },
  { text: `Bearer ${JWT_TYP_FIRST_PADDED}.`, found: [['jwt', JWT_TYP_FIRST_PADDED]] },
  { text: `cookie jwt_${JWT} and auth-${JWT_LEADING_LF}`, found: [['jwt', JWT], ['jwt', JWT_LEADING_LF]] },
  { text: `jwe ${JWE_LEADING_SPACE}`, found: [['jwt', JWE_LEADING_SPACE]] },
  // a card number in a query string or form body (`+` is a space there)
  { text: 'GET /pay?pan=4111+1111+1111+1111&exp=12/29', found: [['card', '4111+1111+1111+1111']] },
  { text: 'card=5555+5555+5555+4444', found: [['card', '5555+5555+5555+4444']] },
  // --- red team (masking) ---
  // RFC 5322 atext in the local part: the part before the character was left visible (`o'`), or all of it
  { text: "to mary.o'brien@example.ie", found: [['email', "mary.o'brien@example.ie"]] },
  { text: 'to a{b}@example.com and john!smith@example.com, a#b~c@example.com', found: [['email', 'a{b}@example.com'], ['email', 'john!smith@example.com'], ['email', 'a#b~c@example.com']] },
  // quotes, code marks and an ellipsis before an address are not part of it
  { text: "VALUES ('Ada','ada@example.com')", found: [['email', 'ada@example.com']] },
  { text: 'send to `ada@example.com` or {bob@example.org}', found: [['email', 'ada@example.com'], ['email', 'bob@example.org']] },
  // dots RFC 5322 forbids (legacy Japanese mobile addresses): the whole address was visible
  { text: 'to taro.@docomo.ne.jp and a..b@example.com', found: [['email', 'taro.@docomo.ne.jp'], ['email', 'a..b@example.com']] },
  // more than nine labels, and a label after the address that is no TLD: the whole address was visible
  { text: 'to a@a.b.c.d.e.f.g.h.i.com', found: [['email', 'a@a.b.c.d.e.f.g.h.i.com']] },
  { text: 'archived alice@example.com.2024 and bob@example.org.-', found: [['email', 'alice@example.com'], ['email', 'bob@example.org']] },
  // typographic dashes (PDFs, word processors) group cards, phone numbers and IBANs as `-` does; only SSNs read them before
  { text: 'pan 4111–1111–1111–1111, amex 3782—822463—10005', found: [['card', '4111–1111–1111–1111'], ['card', '3782—822463—10005']] },
  { text: 'call +1 415–555–2671 or +44 20‒7946‒0958', found: [['phone', '+1 415–555–2671'], ['phone', '+44 20‒7946‒0958']] },
  { text: 'iban DE89–3704–0044–0532–0130–00', found: [['iban', 'DE89–3704–0044–0532–0130–00']] },
  // an IBAN in a form body or query string, where `+` is a space (cards were read there already)
  { text: 'POST /pay iban=DE89+3704+0044+0532+0130+00&bic=COBADEFFXXX', found: [['iban', 'DE89+3704+0044+0532+0130+00']] },
  // with a region configured, other countries' national numbers were left visible (read only as the region's)
  {
    text: 'US (415) 555-2671, Berlin 030 901820, Paris 01 23 45 67 89',
    found: [['phone', '(415) 555-2671'], ['phone', '030 901820'], ['phone', '01 23 45 67 89']],
    region: 'GB',
  },
  // `00` with a space after it, and `011`, the NANP international prefix
  { text: 'call 00 44 20 7946 0958 or 011 44 20 7946 0958', found: [['phone', '00 44 20 7946 0958'], ['phone', '011 44 20 7946 0958']], region: 'US' },
  // a German area code and number joined by a slash (DIN 5008's older form)
  { text: 'Berlin 030/901820, Handy 0171/1234567', found: [['phone', '030/901820'], ['phone', '0171/1234567']] },
  // `social_sec_num`, `socialSecNo`: bare digits after a key name that abbreviates only the second word
  { text: 'social_sec_num=536221234 {"socialSecNo":"772104321"}', found: [['ssn', '536221234'], ['ssn', '772104321']] },
];

const FALSE_POSITIVES: readonly Case[] = [
  { text: 'order 4111 1111 1111 1112', found: [] },
  { text: 'order id 1234567812345678', found: [] },
  { text: 'shipment 9876543210987654 shipped', found: [] },
  { text: 'version 1.2.3.4.5', found: [] },
  { text: 'build 10.0.19045.2965', found: [] },
  { text: 'date 2024-01-15 and 15/01/2024 at 12:30:45', found: [] },
  { text: 'id 123e4567-e89b-12d3-a456-426614174000', found: [] },
  { text: 'ISBN 978-3-16-148410-0', found: [] },
  { text: 'ISBN 9783161484100', found: [] },
  { text: 'ssn 000-12-3456', found: [] },
  { text: 'phone 415 555 0132 1', found: [] },
  { text: 'coordinates 123 45 6789 1011', found: [] },
  { text: 'BEGIN PUBLIC KEY MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', found: [] },
  { text: 'a sk-short key and task-list items', found: [] },
  { text: 'ssn 666-12-3456', found: [] },
  { text: 'ssn 912-12-3456', found: [] },
  { text: 'ssn 536-00-1234', found: [] },
  { text: 'ssn 536-22-0000', found: [] },
  { text: 'order 536221234', found: [] },
  { text: 'price $1,234.56 or 1234.56 EUR', found: [] },
  { text: 'count 42, 1000000, 4155552671', found: [] },
  { text: 'ip 256.1.1.1 and 999.999.999.999', found: [] },
  { text: 'mac 00:1A:2B:3C:4D:5E', found: [] },
  { text: 'std::vector<int> and a::b', found: [] },
  { text: 'iban DE89 3704 0044 0532 0130 01', found: [] },
  { text: 'user@localhost and foo@bar', found: [] },
  { text: 'eyJub3Rqc29u.eyJzdWIiOiIxIn0.sig', found: [] },
  { text: `${b64url('{"typ":"JWT"}')}.${b64url('{}')}.abc`, found: [] },
  { text: 'AKIA1234 is too short', found: [] },
  { text: 'sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709', found: [] },
  { text: 'phone 555-0100', found: [] },
  { text: 'dates 2024-01-15, 15.01.2024 and 01/15/2024', found: [], region: 'US' },
  { text: 'the quick brown fox', found: [] },
  { text: '', found: [] },
  // numbers that are not cards, SSNs or phone numbers stay visible: the app still needs them
  { text: 'random 0.4111111111111111', found: [] },
  { text: 'ratio 4.111111111111111', found: [] },
  { text: 'r 4.111111111111112e+15', found: [] },
  { text: 'ms 1700000000000 and s 1733462400', found: [] },
  { text: 'order 4111.1111.1111.1112', found: [] },
  { text: 'price 1,234,567.89 and $12,345,678.90', found: [] },
  { text: 'de 12.345.678,90', found: [] },
  { text: 'ts 2024-01-15 12:30:45.123456', found: [] },
  { text: '{"id":1234567890123,"n":42}', found: [] },
  { text: 'ids 9007199254740993 18446744073709551615', found: [] },
  { text: 'order 536221234 and 4155552671', found: [] },
  { text: 'path a/b/4111/1111 and v1.2.3', found: [] },
  { text: 'user@host and a@b', found: [] },
  // --- audit: ordinary data that was masked ---
  // timestamptz output and other timestamps: `2024-01-15 12` read as the US number 202-401-1512
  { text: 'created 2024-01-15 12:30:45.123456+00', found: [], region: 'US' },
  { text: 'at 2024/01/15 12:30:45', found: [], region: 'US' },
  { text: 'ts 2024-01-15 12:30:45.1234567', found: [], region: 'DE' },
  // UUID digit groups (`3888-9912` is a German number)
  { text: '{"id":"a3bb189e-8bf9-3888-9912-ace4e6543002"}', found: [], region: 'DE' },
  // hyphenated ISBN-10 (valid French and German numbers with a trunk 0)
  { text: 'ISBN 0-306-40615-2', found: [] },
  { text: 'isbn 0-19-852663-6', found: [] },
  // words that merely contain the letters of an SSN keyword
  { text: 'lessons 536221234 and latin 536221234', found: [] },
  { text: 'hotel 4155552671 and faxes', found: [] },
  // four-part version numbers: a browser's reduced User-Agent, a .NET assembly name, a tag
  { text: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0', found: [] },
  { text: 'System.Runtime, Version=4.0.0.0, Culture=neutral', found: [] },
  { text: 'release v1.2.3.4 and version 2.4.1.3', found: [] },
  // --- audit 2 ---
  // dotted names that are not tokens, also ones starting `ey`/`ew`, and headers without `alg`
  { text: 'a.b.c com.example.App.main eyes.are.blue everyone.knows.this file.tar.gz v1.2.3', found: [] },
  { text: 'logger ewok.service.impl and eyJhbGciOi.x.y', found: [] },
  { text: `${b64url('{ "typ": "JWT" }')}.${b64url('{"sub":"1"}')}.abc`, found: [] },
  { text: `${b64url('{"kid":"k1","enc":"A256GCM"}')}.a.b.c.d`, found: [] },
  // Stripe publishable keys are public; an account surrogate key is not an Azure key
  { text: `Stripe.setPublishableKey('${STRIPE_PUBLISHABLE}')`, found: [] },
  { text: 'account_key = 1234567890123456789012, account-key: customer-0001', found: [] },
  { text: 'https://hooks.slack.com/services/ and hooks.slack.com/services/T0/B0/short', found: [] },
  // IBAN-like text with double spaces or a tab that fails mod-97
  { text: 'iban DE89  3704 0044 0532 0130 01', found: [] },
  { text: 'GB82\tWEST 1234 5698 7654 33', found: [] },
  // an address literal that holds no address
  { text: 'ada@[300.1.1.1] and ada@[IPv6:zz::1] and a@[x]', found: [] },
  // underscored or slashed 9-digit groups without an SSN word, attached to a path or an identifier
  { text: 'at /files/536/22/1234 and batch_536_22_1234, 536/22/1234/edit, v536_22_1234', found: [] },
  // --- audit 3 ---
  // three numbers in a row in CSV, TSV, psql's output, arithmetic and times, without an SSN word
  { text: '536,22,1234\n536;22;1234\n536\t22\t1234\n 536 | 22 | 1234\n536|22|1234', found: [] },
  { text: 'SELECT 536 - 22 - 1234, 536+22+1234, 536*22*1234; took 536:22:1234', found: [] },
  // dates, versions and phone numbers that use the separators an SSN may use
  { text: 'due 12/31/2024, 2024/12/31, 31_12_2024, v1.22.1234, 1.536.22.1234, +1 536 222 1234', found: [] },
  // a 3-2-4 group inside a longer grouped number, whatever the separator
  { text: '1/536/22/1234 and 536_22_1234_5 and 7-536–22–1234 and 536:22:1234:9 ssn', found: [] },
  // dotted base64 that is not a token: decodes to text, to an array, to JSON without alg, or is no JSON
  { text: `${b64url('hello world, hi')}.${b64url('x')}.${b64url('y')} ${b64url(' ["alg"]')}.e30.sig`, found: [] },
  { text: `${b64url('  {"typ":"JWT"}')}.e30.sig ${b64url('\n{"alg":1}')}.e30.sig ${b64url(' {"alg":"HS256"')}.e30.sig`, found: [] },
  { text: 'my-very-long-hostname.example.com and org.apache.commons.lang3.StringUtils.isBlank', found: [] },
  // a `+`-joined number that fails Luhn
  { text: 'pan=4111+1111+1111+1112', found: [] },
  // --- red team (masking) ---
  // `@` in code and package specs, a local part without a letter or digit
  { text: "npm i @types/node@20.1.0 lodash@4.17.21 HEAD@{1} image@sha256:abc ...@example.com '@example.com", found: [] },
  { text: 'iban=DE89+3704+0044+0532+0130+01', found: [] },
  // read in DE, numbers without the trunk 0 its numbers are written with: year ranges, coordinates, ZIP+4, ids
  { text: 'years 2019-2024, at 48.858844, 2.294351, zip 94105-1234, INV 2024 0001 2345, oid 2200 16384 16385', found: [], region: 'DE' },
  { text: 'paths /v1/items/4155/5526710 and 12/3456789, ratio 1/2345678', found: [] },
];

const ALL = new Set(MASK_ENTITIES);

function run(c: Case): [MaskEntity, string][] {
  return findEntities(c.text, ALL, c.region ? { defaultRegion: c.region } : {}).map((m) => [
    m.entity,
    c.text.slice(m.start, m.end),
  ]);
}

describe('recognizer corpus', () => {
  it('has at least 60 cases', () => {
    expect(TRUE_POSITIVES.length + FALSE_POSITIVES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(TRUE_POSITIVES)('finds $found in $text', (c) => {
    expect(run(c)).toEqual(c.found);
  });

  it.each(FALSE_POSITIVES)('leaves visible: $text', (c) => {
    expect(run(c)).toEqual([]);
  });

  it('uses numbers in the false-positive corpus that really fail Luhn', () => {
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('1234567812345678')).toBe(false);
    expect(luhnValid('4111111111111111')).toBe(true);
  });
});
