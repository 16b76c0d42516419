import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AgentConfig } from '../../agent/src/config.js';
import { schemaKeys } from '../../protocol/schema-walk.js';
import { CONFIG_REFERENCE_FILE, generateConfigReference } from '../../scripts/gen-config-docs.js';

describe('docs/configuration.md', () => {
  it('is what scripts/gen-config-docs.ts generates from the schemas', () => {
    const committed = readFileSync(CONFIG_REFERENCE_FILE, 'utf8');
    const generated = generateConfigReference();
    if (committed !== generated) {
      const a = committed.split('\n');
      const b = generated.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(
        `docs/configuration.md is out of date (first difference at line ${line + 1}: ${JSON.stringify(b[line] ?? '')}): run npx tsx scripts/gen-config-docs.ts`,
      );
    }
  });

  it('lists every key of the agent config with its default', () => {
    const text = generateConfigReference();
    for (const key of schemaKeys(AgentConfig)) expect(text).toContain(`| \`${key.path}\` |`);
    expect(text).toMatch(
      /\| `probes\.bandwidth\.window` \| object \| `\{"start":"01:00","end":"05:00"\}` \|/,
    );
    expect(text).toMatch(/\| `probes\.uplink-snmp\.ports\[\]\.role` \| "core" \\\| "access" \|/);
  });
});
