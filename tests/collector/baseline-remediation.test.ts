/**
 * config/baseline.yaml gives every rule its remediation twice: in English (`remediation`) and in Chinese
 * for a school's IT officer (`remediationZh`, shown on the console's Chinese pages). Both are required;
 * a `remediationZh` without a Chinese character (an English sentence copied in) is refused naming the field.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASELINE_FILE, loadBaseline, parseBaseline } from '../../collector/src/baseline.js';

const base = loadBaseline(DEFAULT_BASELINE_FILE);
const withTelnet = (patch: Record<string, unknown>, drop?: string) => {
  const rule: Record<string, unknown> = { ...base.rules['cleartext-telnet'], ...patch };
  if (drop) delete rule[drop];
  return JSON.stringify({ rules: { ...base.rules, 'cleartext-telnet': rule }, exceptions: [] });
};

describe('remediation in Chinese', () => {
  it('every rule of the shipped baseline has one, in Chinese, not the English one', () => {
    const rules = Object.entries(base.rules);
    expect(rules.length).toBeGreaterThan(10);
    for (const [id, rule] of rules) {
      expect(rule.remediationZh, id).toMatch(/\p{Script=Han}/u);
      expect(rule.remediationZh, id).not.toBe(rule.remediation);
    }
  });

  it('a rule without it names the field', () => {
    expect(() => parseBaseline(withTelnet({}, 'remediationZh'), 'baseline.yaml')).toThrow(
      'baseline.yaml: rules.cleartext-telnet.remediationZh: is required',
    );
  });

  it('one without a Chinese character is refused, naming the field', () => {
    expect(() =>
      parseBaseline(withTelnet({ remediationZh: 'Disable Telnet; use SSH.' }), 'baseline.yaml'),
    ).toThrow(
      'baseline.yaml: rules.cleartext-telnet.remediationZh: must be written in Chinese (it has no Chinese character): "Disable Telnet; use SSH."',
    );
    expect(() => parseBaseline(withTelnet({ remediationZh: '' }), 'baseline.yaml')).toThrow(
      'rules.cleartext-telnet.remediationZh',
    );
  });
});
