import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { addExpense, jsEnabled, open, register } from './helpers';
import { createRoom, inviteLink } from './chat-helpers';

/**
 * axe-core's serious and critical findings on the page as it is now. axe is a script: in the
 * no-JS project the same URL is loaded once more in a page whose scripts run but where the
 * app's own bundle is refused, so axe checks exactly what a browser without JavaScript shows.
 */
async function serious(page: Page, info: TestInfo): Promise<string[]> {
  if (!jsEnabled(info)) {
    const context = await page.context().browser()!.newContext({
      javaScriptEnabled: true,
      storageState: await page.context().storageState(),
    });
    const plain = await context.newPage();
    await plain.route(/\/pkg\/huddle\.[0-9a-f]+\.(js|wasm)$/, (route) => route.abort());
    await plain.goto(page.url());
    try {
      return await check(plain);
    } finally {
      await context.close();
    }
  }
  return check(page);
}

async function check(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

test('signed-out pages have no serious accessibility violations', async ({ page }, info) => {
  // axe takes seconds per page on a loaded two-core machine (30 s for the first four, once).
  test.setTimeout(90_000);
  const recovery = ['/forgot-password', '/forgot-password?sent=1', '/reset-password', '/verify-email?result=done', '/verify-email?result=expired'];
  for (const path of ['/', '/login', '/register', ...recovery, '/no-such-page']) {
    await open(page, path, info);
    expect(await serious(page, info), path).toEqual([]);
  }
});

for (const theme of ['light', 'dark'] as const) {
  test(`every signed-in page has no serious accessibility violations (${theme} theme)`, async ({ page, context }, info) => {
    test.setTimeout(120_000);
    await register(page, info);
    const room = new URL(await createRoom(page, info, 'Accessible room')).pathname;
    const invite = new URL(await inviteLink(page)).pathname;
    // A shared bill: an entry in the ledger and a card in the room's timeline.
    await open(page, `${room}/expenses`, info);
    const shared = page.getByTestId('add-shared');
    await shared.getByLabel('Description', { exact: true }).fill('Groceries');
    await shared.getByLabel('Amount', { exact: true }).fill('30');
    await shared.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(page.getByTestId('entry')).toHaveCount(1);
    await open(page, '/expenses', info);
    await addExpense(page, '12.50', 'Lunch', 'Food', '2026-11-20');
    const expense = await page.getByTestId('expenses').getByRole('link', { name: 'Lunch' }).getAttribute('href');
    await open(page, '/meetings', info);
    await page.getByRole('button', { name: 'Start a meeting' }).click();
    await expect(page).toHaveURL(/\/meetings\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    const meeting = new URL(page.url()).pathname;
    await context.addCookies([{ name: 'huddle_theme', value: theme, url: new URL('/', page.url()).href }]);
    const pages = ['/', '/chat', room, `${room}/expenses`, invite, '/rooms', '/expenses', expense!, '/categories', '/reports', '/budgets', '/profile', '/premium', '/premium?result=declined', '/leaderboard', '/sessions', '/meetings', meeting];
    for (const path of pages) {
      await open(page, path, info);
      await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
      expect(await serious(page, info), `${path} (${theme})`).toEqual([]);
    }
  });
}
