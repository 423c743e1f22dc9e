import { expect, test, type Locator, type Page } from '@playwright/test';
import { jsEnabled, open, register } from './helpers';

/** Presses Tab until `target` has the focus (at most `limit` times): reachable by keyboard. */
async function tabTo(page: Page, target: Locator, limit = 60) {
  for (let i = 0; i < limit; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`not reached with ${limit} presses of Tab`);
}

/** The focused element shows a visible focus ring (an outline that is not "none"). */
async function focusVisible(page: Page) {
  const outline = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement!);
    return `${s.outlineStyle} ${s.outlineWidth}`;
  });
  expect(outline).not.toMatch(/^none|0px$/);
}

test('without the mouse: create a room, send a message, edit it; add and filter an expense', async ({ page }, info) => {
  test.skip(!jsEnabled(info), 'the chat composer keys need JavaScript; no-JS forms are the same form controls');
  await register(page, info);
  await open(page, '/chat', info);

  // The "New room" panel opens from the keyboard, its form is filled and sent with Enter.
  const summary = page.locator('.sidebar-actions summary', { hasText: 'New room' });
  await tabTo(page, summary);
  await focusVisible(page);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Keyboard club');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('room-title')).toHaveText('Keyboard club');
  await expect(page.getByTestId('connection')).toHaveText('live');

  const composer = page.getByLabel('Message', { exact: true });
  await tabTo(page, composer);
  await page.keyboard.type('hello with keys');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('message').filter({ hasText: 'hello with keys' })).toBeVisible();
  await page.keyboard.press('ArrowUp');
  await expect(page.getByLabel('Edit message')).toBeFocused();
  await page.keyboard.press('End');
  await page.keyboard.type(', edited');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('message').filter({ hasText: 'hello with keys, edited' })).toContainText('(edited)');

  // Expenses: the add form and the filters, field by field with Tab.
  await open(page, '/expenses', info);
  const form = page.getByTestId('add-expense');
  await tabTo(page, form.getByLabel(/^Amount/));
  await focusVisible(page);
  await page.keyboard.type('7.25');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Keyboard coffee');
  await tabTo(page, form.getByRole('button', { name: 'Add expense' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('expenses').getByRole('link', { name: 'Keyboard coffee' })).toBeVisible();
  // A new expense starts on the category used last ("Other" for the first one).
  await expect(form.getByLabel('Category', { exact: true }).locator('option:checked')).toHaveText('Other');

  await tabTo(page, page.getByRole('searchbox'));
  await page.keyboard.type('nothing like this');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('expenses').getByRole('link', { name: 'Keyboard coffee' })).toHaveCount(0);
  await tabTo(page, page.getByRole('searchbox'));
  await page.keyboard.press('Control+A');
  await page.keyboard.type('coffee');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('expenses').getByRole('link', { name: 'Keyboard coffee' })).toBeVisible();
});
