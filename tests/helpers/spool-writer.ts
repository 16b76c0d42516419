// Child process for the crash test: spools reports as fast as it can and prints each reportId
// after `enqueue` returned (the report is then acknowledged as durable).
import { Spool } from '../../agent/src/spool/spool.js';
import { makeReport } from './reports.js';

const [file, cap] = process.argv.slice(2);
const spool = new Spool(file!, Number(cap ?? 100000));
process.stdout.write('ready\n');
for (;;) {
  const r = makeReport();
  spool.enqueue(r);
  process.stdout.write(`${r.reportId}\n`);
}
