// Prints the Playwright run as one plain "N passed, N failed" line, from its JSON report.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { expected = 0, unexpected = 0, flaky = 0, skipped = 0 } = report.stats ?? {};
if (flaky > 0) console.log(`e2e: ${flaky} test(s) passed only on retry (flaky): see the list above`);
console.log(`e2e: ${expected + flaky} passed, ${unexpected} failed, ${skipped} skipped`);
process.exit(unexpected > 0 ? 1 : 0);
