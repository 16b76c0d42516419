/**
 * Checks that the documentation refers only to what is inside the repository: every relative markdown link of
 * the user documentation resolves to a file here (and its `#anchor` to a heading of that file, by GitHub's
 * slug rules), and no file of the repository cites a section ("§") or a design document it does not hold.
 *
 *   npx tsx scripts/check-links.ts          # prints each problem as `file:line: message`; exit 1 if any
 *
 * tests/docs/links.test.ts runs the same checks in the test suite.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface LinkProblem {
  file: string;
  line: number;
  message: string;
}

/** The user documentation whose links are checked (relative to the repository root). */
export function documentationFiles(root = REPO_ROOT): string[] {
  const files = ['README.md', 'bench/README.md', 'deploy/README.md', 'dashboards/README.md'];
  const docs = join(root, 'docs');
  if (existsSync(docs)) {
    for (const f of readdirSync(docs).sort()) if (f.endsWith('.md')) files.push(`docs/${f}`);
  }
  return files.filter((f) => existsSync(join(root, f)));
}

/** GitHub's heading anchor: lower case, punctuation dropped (letters of any script kept), spaces to '-'. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*~]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** The anchors of a markdown file's headings, with GitHub's -1, -2 … for repeated ones. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const { raw } of proseLines(markdown)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (!m?.[1]) continue;
    const base = githubSlug(m[1]);
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The lines outside fenced code blocks with their line numbers: as written, and with inline code blanked out. */
function proseLines(markdown: string): { line: number; raw: string; text: string }[] {
  const out: { line: number; raw: string; text: string }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const f = /^\s*(```+|~~~+)/.exec(text)?.[1];
    if (f) {
      if (fence === undefined) fence = f[0] === '`' ? '```' : '~~~';
      else if (f.startsWith(fence)) fence = undefined;
      return;
    }
    if (fence === undefined)
      out.push({ line: i + 1, raw: text, text: text.replace(/`+[^`]*`+/g, (s) => ' '.repeat(s.length)) });
  });
  return out;
}

const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;
const LINK = /!?\[(?:[^\]]|\][^(])*?\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE_DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/;
/** A citation of something this repository does not hold: a section sign, a design document. */
const OUTSIDE_REFERENCE = /§|\bDESIGN\b|\.\.\/shared\b/;

/** The problems of one markdown file (path relative to `root`). */
export function checkMarkdownFile(file: string, root = REPO_ROOT): LinkProblem[] {
  const problems: LinkProblem[] = [];
  const abs = join(root, file);
  const markdown = readFileSync(abs, 'utf8');
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (target: string): Set<string> => {
    let a = anchorCache.get(target);
    if (!a) {
      a = headingAnchors(readFileSync(target, 'utf8'));
      anchorCache.set(target, a);
    }
    return a;
  };
  for (const { line, text } of proseLines(markdown)) {
    const targets = [...text.matchAll(LINK)].map((m) => m[1] ?? '');
    const def = REFERENCE_DEFINITION.exec(text)?.[1];
    if (def) targets.push(def);
    for (const raw of targets) {
      if (EXTERNAL.test(raw)) continue;
      const [pathPart = '', anchor] = raw.split('#', 2);
      const path = decodeURIComponent(pathPart);
      const target = path === '' ? abs : resolve(dirname(abs), path);
      const rel = relative(root, target);
      if (rel.startsWith('..') || rel.split(sep)[0] === '..') {
        problems.push({ file, line, message: `${raw}: points outside the repository` });
        continue;
      }
      if (!existsSync(target)) {
        problems.push({ file, line, message: `${raw}: no such file in the repository (${rel})` });
        continue;
      }
      if (anchor && statSync(target).isFile() && extname(target) === '.md') {
        if (!anchorsOf(target).has(decodeURIComponent(anchor).toLowerCase())) {
          problems.push({ file, line, message: `${raw}: no heading #${anchor} in ${rel}` });
        }
      }
    }
    const outside = OUTSIDE_REFERENCE.exec(text);
    if (outside) {
      problems.push({
        file,
        line,
        message: `"${outside[0]}" cites something outside the repository: link a file or heading of the repository instead`,
      });
    }
  }
  return problems;
}

/** Source, configuration and scripts that may not cite what is outside the repository (tests may use ../shared for test data). */
const SOURCE_DIRS = [
  'agent',
  'collector',
  'protocol',
  'dashboards',
  'deploy',
  'bench',
  'scripts',
  'config',
  'docs',
  'native',
];
const SOURCE_EXTENSIONS = new Set(['.ts', '.js', '.mjs', '.md', '.yaml', '.yml', '.sh', '.c', '.h', '.json']);
const SKIP_DIRS = new Set(['node_modules', 'generated', 'build', 'dist']);

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(join(dir, entry.name), out);
    } else if (SOURCE_EXTENSIONS.has(extname(entry.name))) out.push(join(dir, entry.name));
  }
}

/** Every line of the repository's own files citing a design document, a `§` section or `../shared`. */
export function checkSourceReferences(root = REPO_ROOT): LinkProblem[] {
  const files: string[] = [];
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d))) walk(join(root, d), files);
  const problems: LinkProblem[] = [];
  for (const abs of files.sort()) {
    if (abs === fileURLToPath(import.meta.url)) continue; // this checker names the patterns it looks for
    readFileSync(abs, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        const m = OUTSIDE_REFERENCE.exec(text);
        if (m) {
          problems.push({
            file: relative(root, abs),
            line: i + 1,
            message: `"${m[0]}" cites something outside the repository: write the reason here or point to docs/`,
          });
        }
      });
  }
  return problems;
}

export function checkAll(root = REPO_ROOT): LinkProblem[] {
  const docs = new Set(documentationFiles(root));
  return [
    ...[...docs].flatMap((f) => checkMarkdownFile(f, root)),
    ...checkSourceReferences(root).filter((p) => !docs.has(p.file)),
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problems = checkAll();
  for (const p of problems) process.stdout.write(`${p.file}:${p.line}: ${p.message}\n`);
  process.stdout.write(`${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
