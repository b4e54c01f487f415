import { describe, expect, it } from 'vitest';
import { entitiesNamedBy } from './entity-names.js';

describe('entitiesNamedBy: what a column name says it holds', () => {
  it.each([
    ['email', ['email']],
    ['customer_email', ['email']],
    ['customerEmail', ['email']],
    ['customeremail', ['email']],
    ['e_mail', ['email']],
    ['ssn', ['ssn']],
    ['social_security_number', ['ssn']],
    ['Tax-Id', ['ssn']],
    ['card_number', ['card']],
    ['cardNumber', ['card']],
    ['credit_card', ['card']],
    ['pan', ['card']],
    ['iban', ['iban']],
    ['bank_account', ['iban']],
    ['home_phone', ['phone']],
    ['mobilephone', ['phone']],
    ['msisdn', ['phone']],
    ['client_ip', ['ip']],
    ['ip_address', ['ip']],
    ['id_token', ['jwt']],
    ['api_key', ['cloud_key']],
    ['db_password', ['cloud_key']],
  ])('%s → %j', (name, entities) => {
    expect([...entitiesNamedBy(name)].sort()).toEqual([...entities].sort());
  });

  it.each(['name', 'cardinality', 'classname', 'mailbox_size_mb', 'description', 'id', 'created_at', 'amount', 'zip', 'tint', 'panel'])(
    '%s names no entity',
    (name) => {
      expect(entitiesNamedBy(name)).toEqual([]);
    },
  );

  it('a name may name several entities', () => {
    expect([...entitiesNamedBy('email_or_phone')].sort()).toEqual(['email', 'phone']);
  });
});
