import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// One server per run, on a free loopback port chosen here and shared with the workers via the
// environment (workers load this file again and must agree on the port and data folder).
if (!process.env.E2E_PORT) {
  const freePort = "const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });";
  process.env.E2E_PORT = execFileSync(process.execPath, ['-e', freePort]).toString().trim();
  process.env.E2E_DATA_DIR = mkdtempSync(join(tmpdir(), 'huddle-e2e-'));
}
const port = process.env.E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  // CI: one test at a time. With two, a three-way call in one worker starved whatever ran in
  // the other on a two-core machine (timeouts in the shell and call specs, 2026-11-29); the
  // suite takes about twice as long, well within CI's time.
  workers: process.env.CI ? 1 : 2,
  // One retry in CI, reported as flaky in the summary rather than hidden.
  retries: process.env.CI ? 1 : 0,
  reporter: [
    ['list'],
    ['json', { outputFile: 'test-results/results.json' }],
    ['html', { open: 'never', outputFolder: 'playwright-report' }],
  ],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/lib/chromium/chromium',
      // Calls: a fake camera and microphone, granted without a prompt, and ICE over loopback.
      // The fake camera at 10 frames a second (Chromium's default is 30): three browsers
      // encoding and decoding video for each other otherwise take both cores of a CI machine.
      args: ['--disable-gpu', '--disable-quic', '--use-fake-device-for-media-stream=fps=10', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection'],
    },
  },
  projects: [
    { name: 'js', use: { javaScriptEnabled: true } },
    { name: 'no-js', use: { javaScriptEnabled: false } },
  ],
  webServer: {
    command: process.env.HUDDLE_BIN ?? '../target/debug/huddle',
    url: `${baseURL}/readyz`,
    timeout: 60_000,
    reuseExistingServer: false,
    // The server logs to stdout: E2E_SERVER_LOG=1 shows it (its errors, with the test output).
    stdout: process.env.E2E_SERVER_LOG ? 'pipe' : 'ignore',
    stderr: 'pipe',
    env: {
      HUDDLE_ADDR: `127.0.0.1:${port}`,
      HUDDLE_DATA_DIR: process.env.E2E_DATA_DIR!,
      HUDDLE_SITE_DIR: process.env.HUDDLE_SITE_DIR ?? '../target/site',
      RUST_LOG: 'warn',
      // Every test signs its people up from this one address.
      HUDDLE_SIGNUPS_PER_HOUR: '100000',
      // Calls of three fill up: the fourth person is refused (meetings.spec.ts).
      HUDDLE_MEETING_MAX_PEERS: '3',
      // coturn, when scripts/test.sh started one: every joiner gets TURN credentials.
      ...(process.env.E2E_TURN_URL ? { HUDDLE_TURN_URLS: process.env.E2E_TURN_URL, HUDDLE_TURN_SECRET: process.env.E2E_TURN_SECRET! } : {}),
    },
  },
});
