import { expect, test, type Page } from '@playwright/test';
import { jsEnabled, open, register } from './helpers';

/**
 * What a first visit downloads before the page is interactive, in compressed bytes on the wire.
 * The goal, 300 KB, is the budget: a change that grows any page's first load past it
 * fails here. It went up to 462,000 B as the app grew (sessions 6-9); session 10 brought every
 * page but `/chat` (320,964 B) and `/expenses` (304,296 B) under 300 KB, and session 11 those
 * two: the chat socket's code loads once the page is live, server-function answers have one
 * JSON reader, binaryen optimises every module and the split loader is data
 * (`/chat` 286,536 B, `/expenses` 294,723 B, 2026-11-29). See docs/BENCHMARKS.md.
 */
const BUDGET_BYTES = 300_000;

/** Every route a signed-in user starts from, and the two a visitor does. */
const SIGNED_IN = ['/', '/chat', '/expenses', '/reports', '/budgets', '/categories', '/profile', '/premium', '/leaderboard', '/sessions', '/rooms'];
const VISITOR = ['/login', '/register'];

async function firstLoad(page: Page, path: string, info: Parameters<typeof open>[2]): Promise<{ bytes: number; wasm: string[] }> {
  // When the page marked itself live (browser clock): what it fetches from then on (the chat
  // socket's code, server-function calls) comes after it is interactive and is left out.
  await page.addInitScript(() => {
    const w = window as unknown as { hydratedAt?: number };
    new MutationObserver(() => {
      if (w.hydratedAt === undefined && document.querySelector('main[data-hydrated="true"]')) w.hydratedAt = Date.now();
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
  });
  const requests: import('@playwright/test').Request[] = [];
  page.on('requestfinished', (request) => requests.push(request));
  await open(page, path, info);
  const hydratedAt = await page.evaluate(() => (window as unknown as { hydratedAt?: number }).hydratedAt);
  expect(hydratedAt, `${path}: the page never marked itself live`).toBeDefined();
  // Requests that started before then (browser clock too), and every byte of them.
  const before = requests.filter((r) => r.timing().startTime < hydratedAt!);
  const wasm = before.map((r) => new URL(r.url()).pathname).filter((p) => p.endsWith('.wasm'));
  const sizes = await Promise.all(before.map((r) => r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)));
  // FIRST_LOAD_DETAIL=1 lists each file.
  if (process.env.FIRST_LOAD_DETAIL) before.forEach((r, i) => console.log(`${path} ${String(sizes[i]).padStart(8)} ${new URL(r.url()).pathname}`));
  return { bytes: sizes.reduce((a, b) => a + b, 0), wasm };
}

test('the first load of every page stays within the byte budget', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'without JavaScript a page is its HTML and CSS only');
  // Thirteen fresh browsers, each loading and hydrating a page: 30 s is too short on 2 busy cores.
  test.setTimeout(120_000);
  const rows: string[] = [];
  let worst = 0;
  const measure = async (path: string, storageState?: Awaited<ReturnType<import('@playwright/test').BrowserContext['storageState']>>) => {
    // A fresh context per page: nothing cached, as on a first visit.
    const context = await browser.newContext(storageState ? { storageState } : {});
    const page = await context.newPage();
    const { bytes, wasm } = await firstLoad(page, path, info);
    rows.push(`${path.padEnd(12)} ${String(bytes).padStart(9)} B  ${wasm.length} wasm files`);
    // The main module and the page's pack (its modules in one file), nothing fetched twice.
    expect(wasm.length, `${path}: ${wasm.join(' ')}`).toBeLessThanOrEqual(2);
    expect(new Set(wasm).size, `${path}: ${wasm.join(' ')}`).toBe(wasm.length);
    worst = Math.max(worst, bytes);
    await context.close();
  };
  for (const path of VISITOR) await measure(path);
  const setup = await browser.newContext();
  await register(await setup.newPage(), info);
  const signedIn = await setup.storageState();
  await setup.close();
  for (const path of SIGNED_IN) await measure(path, signedIn);
  console.log(`first load (compressed bytes on the wire, headers included)\n${rows.join('\n')}\n` +
    `worst ${worst} B; budget ${BUDGET_BYTES} B`);
  expect(worst).toBeLessThanOrEqual(BUDGET_BYTES);
});

/** The bundle files a page links: the main module's JS and wasm, the stylesheet, the page modules. */
async function linked(request: import('@playwright/test').APIRequestContext, path: string): Promise<string[]> {
  const html = await (await request.get(path)).text();
  return [...html.matchAll(/href="(\/pkg\/[^"]+)"/g)].map((m) => m[1]);
}

test('the bundle is sent compressed, under names that change with its content, kept for good', async ({ request }) => {
  const files = await linked(request, '/login');
  const named = (ext: string) => files.find((f) => new RegExp(`^/pkg/huddle\\.[0-9a-f]{16}\\.${ext}$`).test(f));
  const wasm = named('wasm'), js = named('js'), css = named('css');
  expect([wasm, js, css], files.join(' ')).not.toContain(undefined);
  for (const [encoding, expected] of [['br, gzip', 'br'], ['gzip', 'gzip']] as const) {
    const res = await request.get(wasm!, { headers: { 'Accept-Encoding': encoding } });
    expect(res.status()).toBe(200);
    expect(res.headers()['content-encoding']).toBe(expected);
    // A new build is a new name, so a browser never needs to ask about this one again.
    expect(res.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  }
  const plain = await request.get(css!, { headers: { 'Accept-Encoding': 'identity' } });
  expect(plain.headers()['content-encoding']).toBeUndefined();
  expect(plain.headers()['cache-control']).toContain('immutable');
  expect(await plain.text()).toContain('.chat-shell');
  // The split loader keeps the name the main module imports it by: revalidated, not kept.
  const loader = await request.get('/pkg/__wasm_split.______________________.js');
  expect(loader.status()).toBe(200);
  expect(loader.headers()['cache-control']).toBe('no-cache');
  expect(loader.headers()['last-modified']).toBeTruthy();
  // Every module it loads is named after its content, and kept.
  const modules = [...(await loader.text()).matchAll(/"\.\/([^"]+\.wasm)"/g)].map((m) => m[1]);
  expect(modules.length).toBeGreaterThan(10);
  for (const module of modules) expect(module).toMatch(/\.[0-9a-f]{8}\.wasm$/);
  const page = await request.get(`/pkg/${modules.find((m) => m.includes('login_route'))}`);
  expect(page.status()).toBe(200);
  expect(page.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  // A name that is not there is a 404 that nobody caches.
  const missing = await request.get('/pkg/huddle.0123456789abcdef.wasm');
  expect(missing.status()).toBe(404);
  expect(missing.headers()['cache-control']).toBe('no-cache');
});

test('pages are sent compressed, and the page modules the server preloads exist', async ({ request }) => {
  for (const [encoding, expected] of [['br, gzip', 'br'], ['gzip', 'gzip']] as const) {
    const res = await request.get('/login', { headers: { 'Accept-Encoding': encoding } });
    expect(res.status()).toBe(200);
    expect(res.headers()['content-encoding']).toBe(expected);
    expect(await res.text()).toContain('<h1>Log in</h1>');
  }
  // A page's own wasm module is preloaded by the server-rendered HTML, and served precompressed.
  const modules = (await linked(request, '/login')).filter((f) => f.endsWith('.wasm'));
  expect(modules.some((m) => /^\/pkg\/huddle\.[0-9a-f]{16}\.wasm$/.test(m))).toBe(true);
  // Not asserted: that the login page's own module is among them. Leptos (leptos_integration_utils
  // 0.8.9) starts rendering before it provides the set the lazy routes add their preloads to,
  // and on a multi-threaded runtime about one page in two loses them (the browser then
  // fetches the module when hydration asks for it: the same bytes, one round trip later).
  for (const module of modules) {
    const res = await request.get(module, { headers: { 'Accept-Encoding': 'br' } });
    expect(res.status(), module).toBe(200);
    expect(res.headers()['content-encoding'], module).toBe('br');
  }
});
