import { BackendParser, FrontendParser, serializeBackend, type BackendMessage, type FrontendMessage, type NoticeFields } from '@gw/protocol-postgres';
import { describe, expect, it } from 'vitest';
import { deniedBind, deniedParse, deniedQuery, newDenialMarker, rewriteDenial } from './deny-rewrite.js';

function frontend(bytes: Buffer): FrontendMessage[] {
  return new FrontendParser({ startupDone: true }).parseAll(bytes);
}

function backend(bytes: Buffer): BackendMessage[] {
  return new BackendParser().parseAll(bytes);
}

/** What PostgreSQL 15 answers to a Query whose text is the marker (checked against the real server). */
function syntaxError(marker: string): NoticeFields {
  return { severity: 'ERROR', severityNonLocalized: 'ERROR', code: '42601', message: `syntax error at or near "${marker}"`, position: '1', file: 'scan.l', line: '1188', routine: 'scanner_yyerror' };
}

describe('denial marker', () => {
  it('is GW_DENIED_ plus 64 random bits in hex, different every time', () => {
    const markers = new Set(Array.from({ length: 200 }, () => newDenialMarker()));
    expect(markers.size).toBe(200);
    for (const m of markers) expect(m).toMatch(/^GW_DENIED_[0-9a-f]{16}$/);
  });

  it('replaces a denied Query by a Query holding only the marker (nothing of the client text reaches the server)', () => {
    const marker = newDenialMarker();
    const bytes = deniedQuery(marker);
    expect(bytes[0]).toBe('Q'.charCodeAt(0));
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
    expect(frontend(bytes)).toEqual([expect.objectContaining({ kind: 'Query', sql: marker })]);
  });

  it('replaces a denied Parse by a Parse of the marker under the client statement name', () => {
    const marker = newDenialMarker();
    const [parse] = frontend(deniedParse('s1', marker));
    expect(parse).toMatchObject({ kind: 'Parse', statement: 's1', sql: marker, paramTypes: [] });
  });

  it('replaces a denied Bind by a Bind of a statement named by the marker, on the client portal, with no parameters', () => {
    const marker = newDenialMarker();
    const [bind] = frontend(deniedBind('p1', marker));
    expect(bind).toMatchObject({ kind: 'Bind', portal: 'p1', statement: marker, paramFormats: [], params: [], resultFormats: [] });
  });
});

describe('rewriteDenial', () => {
  const message = 'denied by policy "no-delete": deletes are not allowed';

  it('turns the server syntax error on the marker into 42501 with the policy message, and nothing of the original', () => {
    const marker = newDenialMarker();
    const out = rewriteDenial(syntaxError(marker), marker, message);
    expect(out).toBeDefined();
    const [error] = backend(out!);
    expect(error?.kind).toBe('ErrorResponse');
    if (error?.kind !== 'ErrorResponse') return;
    expect(error.fields).toMatchObject({ severity: 'ERROR', code: '42501', message });
    // The marker, the position and the server's source location must not reach the client.
    expect(out!.toString('latin1')).not.toContain(marker);
    expect(error.fields.position).toBeUndefined();
    expect(error.fields.routine).toBeUndefined();
  });

  it('rewrites the error on a Bind of the marker statement (prepared statement ... does not exist)', () => {
    const marker = newDenialMarker();
    const fields: NoticeFields = { severity: 'ERROR', code: '26000', message: `prepared statement "${marker}" does not exist` };
    const [error] = backend(rewriteDenial(fields, marker, message)!);
    expect(error).toMatchObject({ kind: 'ErrorResponse', fields: { code: '42501', message } });
  });

  it('leaves a real error alone, even one that mentions a similar word', () => {
    const marker = newDenialMarker();
    const unrelated: NoticeFields[] = [
      { severity: 'ERROR', code: '25P02', message: 'current transaction is aborted, commands ignored until end of transaction block' },
      { severity: 'ERROR', code: '42P01', message: 'relation "gw_denied" does not exist' },
      { severity: 'ERROR', code: '42601', message: 'syntax error at or near "GW_DENIED_"' },
      // The lower-cased form a real "relation does not exist" error would carry.
      { severity: 'ERROR', code: '42P01', message: `relation "${marker.toLowerCase()}" does not exist` },
      // The marker text in another field than the message is not the server refusing the marker.
      { severity: 'ERROR', code: '22P02', message: 'invalid input syntax for type integer', detail: marker },
      { severity: 'ERROR', code: '42601' },
    ];
    for (const fields of unrelated) expect(rewriteDenial(fields, marker, message)).toBeUndefined();
  });

  it('cannot be triggered by a marker the client forged: only the session-side nonce matches', () => {
    // A client that writes a marker-looking statement itself: the server's error carries the client's
    // text, which can never equal a fresh 64-bit nonce, so the error is forwarded as the server wrote it.
    const forged = 'GW_DENIED_0000000000000000';
    const agentMarker = newDenialMarker();
    expect(agentMarker).not.toBe(forged);
    expect(rewriteDenial(syntaxError(forged), agentMarker, message)).toBeUndefined();
    // Nor does a previous session's (or statement's) marker unlock a later one.
    const earlier = newDenialMarker();
    expect(rewriteDenial(syntaxError(earlier), newDenialMarker(), message)).toBeUndefined();
  });

  it('produces a frame the backend parser accepts whole (length field consistent)', () => {
    const marker = newDenialMarker();
    const out = rewriteDenial(syntaxError(marker), marker, 'denied: with ünïcødé ✓')!;
    expect(out.readInt32BE(1)).toBe(out.length - 1);
    const reencoded = serializeBackend(backend(out)[0]!);
    expect(reencoded.equals(out)).toBe(true);
  });
});
