// Reads vitest's JSON results and prints one line "PASSED FAILED SKIPPED" on stdout for scripts/test.sh;
// what it counted as failed is explained on stderr.
//   node scripts/vitest-summary.mjs dist/test-results.json
// Failed = failed tests + suite-level failures + (with CI=true) skipped tests.
// - Suite-level failures are errors no test owns: a failing beforeAll/afterAll, a test file that does not
//   import. vitest marks the tests under a failed beforeAll as skipped and only the suites as failed
//   (`numFailedTestSuites`, `success`); its JSON has no `numRuntimeErrorTestSuites` (a Jest field). Each
//   test file that failed without a failing test counts once; a failed suite in a file that also has a
//   failing test counts once more when `numFailedTestSuites` has suites that the failing tests do not explain.
// - With CI=true every skipped (or todo) test is a failure: CI installs everything a test needs, so a
//   skip there hides a test that did not run. The tests under a failed suite are not counted twice.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/vitest-summary.mjs RESULTS.json');
  process.exit(2);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const ci = process.env.CI === 'true' || process.env.CI === '1';
const rel = (p) => relative(process.cwd(), p);
const isSkip = (s) => s === 'skipped' || s === 'pending' || s === 'todo' || s === 'disabled';

// suites (files and describe blocks) that failed because a test in them failed
const explained = new Set();
const suiteFailures = [];
const skipped = [];
for (const f of r.testResults ?? []) {
  const tests = f.assertionResults ?? [];
  const failedTests = tests.filter((t) => t.status === 'failed');
  for (const t of failedTests) {
    explained.add(f.name);
    const chain = t.ancestorTitles ?? [];
    for (let i = 1; i <= chain.length; i++)
      explained.add(`${f.name}\u0000${chain.slice(0, i).join('\u0000')}`);
  }
  if (f.status === 'failed' && failedTests.length === 0) {
    const firstLine = String(f.message || 'a hook or the file itself failed (no test failed)').split('\n')[0];
    suiteFailures.push(`${rel(f.name)}: ${firstLine}`);
    continue; // its skipped tests are the consequence, counted here once
  }
  for (const t of tests) if (isSkip(t.status)) skipped.push(`${rel(f.name)} > ${t.fullName || t.title}`);
}
const unexplained = (r.numFailedTestSuites ?? 0) - explained.size;
if (unexplained > 0 && suiteFailures.length === 0) {
  suiteFailures.push(
    `${unexplained} suite(s) failed outside any test (a hook in a file that also has a failing test)`,
  );
}

let failed = (r.numFailedTests ?? 0) + suiteFailures.length;
if (suiteFailures.length > 0) {
  console.error(`${suiteFailures.length} suite-level failure(s) (counted as failed):`);
  for (const s of suiteFailures) console.error(`  ${s}`);
}
if (ci && skipped.length > 0) {
  console.error(
    `CI=true: ${skipped.length} skipped test(s) count as failures (CI installs what every test needs):`,
  );
  for (const s of skipped) console.error(`  ${s}`);
  failed += skipped.length;
}
if (r.success === false && failed === 0) {
  console.error('vitest reports no success although no test failed: counted as one failure');
  failed = 1;
}
console.log(r.numPassedTests ?? 0, failed, skipped.length);
