/**
 * For `describe.skipIf(skipping(reason))` / `it.skipIf(skipping(reason))`: true when there is a reason to
 * skip, and then the reason is printed (once per reason) — vitest's reporters print a skipped suite's title,
 * never why it was skipped. With CI=true scripts/test.sh counts every skipped test as a failure.
 */
const printed = new Set<string>();

export function skipping(reason: string | false | null | undefined, what = ''): boolean {
  if (reason === undefined || reason === null || reason === false || reason === '') return false;
  const line = `SKIPPED${what ? ` ${what}` : ''}: ${reason}`;
  if (!printed.has(line)) {
    printed.add(line);
    console.warn(line);
  }
  return true;
}
