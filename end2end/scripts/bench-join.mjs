// Time from clicking Join to the first remote video frame decoded, for calls of N people, in
// Debian's Chromium with fake devices (one browser, one context per person). For each N, the
// last person joins RUNS times (leaving in between) while the others stay in; prints one JSON
// line per N with the median and the spread. Run by scripts/bench-meeting.sh.
import { chromium } from 'playwright';

const base = process.env.BASE;
const runs = Number(process.env.RUNS ?? 10);
const sizes = (process.env.SIZES ?? '2,4').split(',').map(Number);
const browser = await chromium.launch({
  executablePath: '/usr/lib/chromium/chromium',
  args: ['--disable-gpu', '--disable-quic', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection'],
});

let n = 0;
async function person() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const name = `bench${Date.now().toString(36)}${n++}`;
  const res = await page.request.post(`${base}/api/register`, {
    form: { name, username: name, email: `${name}@example.org`, password: 'violet-otter-harbour-42' },
    headers: { Origin: base },
  });
  if (!res.ok()) throw new Error(`register: ${res.status()}`);
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = function (config) { const pc = new Native(config); window.__pcs.push(pc); return pc; };
    window.RTCPeerConnection.prototype = Native.prototype;
  });
  return page;
}

async function open(page, code) {
  await page.goto(`${base}/meetings/${code}`);
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByTestId('join-call').waitFor();
}

/** Milliseconds from the click on Join until a remote video frame is decoded on every leg. */
async function join(page, legs) {
  return page.evaluate(async (legs) => {
    const started = performance.now();
    window.__pcs = [];
    document.querySelector('[data-testid="join-call"]').click();
    for (;;) {
      const pcs = window.__pcs.filter((pc) => pc.connectionState !== 'closed');
      if (pcs.length === legs) {
        const decoded = await Promise.all(pcs.map(async (pc) => {
          let frames = 0;
          (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0; });
          return frames > 0;
        }));
        if (decoded.every(Boolean)) return performance.now() - started;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }, legs);
}

for (const size of sizes) {
  const host = await person();
  await host.goto(`${base}/meetings`);
  await host.getByRole('button', { name: 'Start a meeting' }).click();
  await host.waitForURL(/\/meetings\/[a-z-]+$/);
  const code = host.url().split('/').pop();
  const stayers = [host];
  for (let i = 1; i < size - 1; i++) stayers.push(await person());
  for (const [i, p] of stayers.entries()) {
    if (i > 0) await open(p, code); else { await p.locator('main[data-hydrated="true"]').waitFor(); }
    await p.getByTestId('join-call').click();
    await p.locator('[data-testid="call"][data-phase="in-call"]').waitFor();
  }
  const joiner = await person();
  const times = [];
  for (let r = 0; r < runs; r++) {
    await open(joiner, code);
    times.push(await join(joiner, size - 1));
    await joiner.getByTestId('leave-call').click();
    await joiner.locator('[data-testid="call"][data-phase="out"]').waitFor();
  }
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.round((times.length - 1) * p)].toFixed(0);
  console.log(JSON.stringify({ scenario: 'join_to_first_frame', people: size, runs, p50_ms: Number(at(0.5)), min_ms: Number(at(0)), max_ms: Number(at(1)) }));
  for (const p of [...stayers, joiner]) await p.context().close();
}
await browser.close();
