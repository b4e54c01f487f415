import type { MaskEntity, Recognizer } from '../types.js';
import { cardRecognizer } from './card.js';
import { cloudKeyRecognizer } from './cloud-key.js';
import { emailRecognizer } from './email.js';
import { ibanRecognizer } from './iban.js';
import { ipRecognizer } from './ip.js';
import { jwtRecognizer } from './jwt.js';
import { phoneRecognizer } from './phone.js';
import { ssnRecognizer } from './ssn.js';

/**
 * In priority order: when two recognizers claim overlapping text, the earlier one wins. Specific,
 * self-validating shapes come first (a JWT or key contains digit runs that could look like anything);
 * the phone recognizer, the loosest, comes last.
 */
export const RECOGNIZERS: readonly Recognizer[] = [
  jwtRecognizer,
  cloudKeyRecognizer,
  emailRecognizer,
  ibanRecognizer,
  cardRecognizer,
  ssnRecognizer,
  ipRecognizer,
  phoneRecognizer,
];

export const RECOGNIZER_BY_ENTITY: Readonly<Record<MaskEntity, Recognizer>> = {
  jwt: jwtRecognizer,
  cloud_key: cloudKeyRecognizer,
  email: emailRecognizer,
  iban: ibanRecognizer,
  card: cardRecognizer,
  ssn: ssnRecognizer,
  ip: ipRecognizer,
  phone: phoneRecognizer,
};
