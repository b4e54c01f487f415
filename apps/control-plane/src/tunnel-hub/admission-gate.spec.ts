import { describe, expect, it } from 'vitest';
import { AdmissionGate } from './admission-gate.js';

describe('AdmissionGate', () => {
  it('admits up to its limit, refuses beyond it, and admits again once one leaves (a second release counts once)', () => {
    const gate = new AdmissionGate(2);
    const first = gate.tryEnter();
    const second = gate.tryEnter();
    expect(first && second).toBeTruthy();
    expect(gate.tryEnter()).toBeUndefined();
    first!();
    first!();
    expect(gate.busy).toBe(1);
    expect(gate.tryEnter()).toBeTruthy();
    expect(gate.tryEnter()).toBeUndefined();
  });
});
