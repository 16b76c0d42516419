import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkAll,
  checkMarkdownFile,
  checkSourceReferences,
  documentationFiles,
  githubSlug,
  headingAnchors,
} from '../../scripts/check-links.js';

describe('links and references of the repository', () => {
  it('every relative link of README.md, docs/ and the READMEs resolves, and nothing cites what is outside', () => {
    const files = documentationFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/architecture.md',
        'docs/configuration.md',
        'docs/deployment.md',
        'docs/operations.md',
        'docs/troubleshooting.md',
        'bench/README.md',
        'deploy/README.md',
        'dashboards/README.md',
      ]),
    );
    const problems = checkAll().map((p) => `${p.file}:${p.line}: ${p.message}`);
    expect(problems, 'run npx tsx scripts/check-links.ts').toEqual([]);
  });
});

describe('the link checker', () => {
  const root = mkdtempSync(join(tmpdir(), 'cw-links-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes GitHub anchors, Chinese headings included', () => {
    expect(githubSlug('Compliance: how schools and districts are counted')).toBe(
      'compliance-how-schools-and-districts-are-counted',
    );
    expect(githubSlug('学校详情 (School detail) — `cw-school`')).toBe('学校详情-school-detail--cw-school');
    expect(githubSlug('TLS for a district without its own PKI (`tls init`)')).toBe(
      'tls-for-a-district-without-its-own-pki-tls-init',
    );
    expect(githubSlug('The term report (督导通报)')).toBe('the-term-report-督导通报');
    expect([...headingAnchors('# A\n\n## Usage\n\n```\n# not a heading\n```\n\n## Usage\n')]).toEqual([
      'a',
      'usage',
      'usage-1',
    ]);
  });

  it('reports missing files, missing anchors, links out of the repository and § or DESIGN citations', () => {
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'guide.md'), '# 指南\n\n## 安装 (Install)\n\ntext\n');
    writeFileSync(
      join(root, 'README.md'),
      [
        '# Project',
        '',
        'Good: [guide](docs/guide.md), [安装](docs/guide.md#安装-install), [top](#project), [web](https://example.com/x).',
        'Missing file: [gone](docs/gone.md).',
        'Missing anchor: [bad](docs/guide.md#uninstall).',
        'Outside: [shared](../shared/DESIGN.md).',
        'See §4 of the design.',
        '`[in code](nowhere.md)` and `DESIGN §5` in inline code are not links or citations.',
        '```',
        '[in a block](nowhere.md) §1',
        '```',
        '',
      ].join('\n'),
    );
    const problems = checkMarkdownFile('README.md', root).map((p) => `${p.line}: ${p.message}`);
    expect(problems).toEqual([
      '4: docs/gone.md: no such file in the repository (docs/gone.md)',
      '5: docs/guide.md#uninstall: no heading #uninstall in docs/guide.md',
      '6: ../shared/DESIGN.md: points outside the repository',
      '6: "../shared" cites something outside the repository: link a file or heading of the repository instead',
      '7: "§" cites something outside the repository: link a file or heading of the repository instead',
    ]);
  });

  it('finds design-document citations in source comments', () => {
    mkdirSync(join(root, 'agent'));
    writeFileSync(join(root, 'agent', 'a.ts'), '// fine\n/** The spool (DESIGN §3.3). */\n');
    expect(checkSourceReferences(root)).toEqual([
      {
        file: join('agent', 'a.ts'),
        line: 2,
        message: '"DESIGN" cites something outside the repository: write the reason here or point to docs/',
      },
    ]);
  });
});
