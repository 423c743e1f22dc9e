import { expect, test } from '@playwright/test';
import { addExpense, open, register } from './helpers';

// Premium bought through the demo provider (the server's default in development): its checkout
// page, the signed callback it posts back, and the order history on the premium page. The same steps
// with and without JavaScript: the checkout is plain forms.

test('premium is bought through the demo checkout and shows on the profile', async ({ page }, info) => {
  const username = await register(page, info);
  await open(page, '/leaderboard', info);
  await expect(page.getByTestId('leaderboard-locked')).toHaveText('The leaderboard comes with premium.');
  await open(page, '/profile', info);
  await expect(page.getByTestId('profile-premium')).toContainText('No');
  await page.getByRole('link', { name: 'Premium and your orders' }).click();
  const premium = page.locator('#premium');
  await expect(premium.getByTestId('premium-status')).toContainText('Premium adds the spending leaderboard');
  await expect(premium).toContainText('demo mode: no money moves');

  await premium.getByRole('button', { name: /^Go premium for/ }).click();
  await expect(page.getByRole('heading', { name: 'Demo checkout' })).toBeVisible();
  await expect(page.getByTestId('demo-label')).toContainText('Demo, no money moves.');
  await page.getByRole('button', { name: /^Pay / }).click();
  await expect(page.getByRole('heading', { name: 'Payment approved' })).toBeVisible();
  await page.getByRole('button', { name: 'Return to Huddle' }).click();

  await expect(page).toHaveURL(/\/premium\?result=done/);
  await expect(page.getByTestId('premium-result')).toHaveText('Payment received: premium is yours.');
  await expect(premium.getByTestId('premium-status')).toContainText('Premium since');
  await expect(premium.getByRole('button', { name: /^Go premium/ })).toHaveCount(0);
  const orders = premium.getByTestId('orders');
  await expect(orders.locator('tbody tr')).toHaveCount(1);
  await expect(orders.locator('tbody tr').first()).toContainText('Paid');

  // Premium shows the leaderboard; the user appears on it only once they choose to.
  await premium.getByLabel('Show me on the leaderboard').check();
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/set_leaderboard')),
    premium.getByRole('button', { name: 'Save', exact: true }).click(),
  ]);
  await open(page, '/expenses', info);
  const today = new Date().toISOString().slice(0, 10);
  await addExpense(page, '12.50', 'Lunch', 'Other', today);
  await open(page, '/leaderboard', info);
  await expect(page.getByRole('heading', { name: /^This month:/ })).toBeVisible();
  const mine = page.getByTestId('this-month').locator('li.me');
  await expect(mine).toContainText(`@${username}`);
  await expect(mine).toContainText('12,50');
  await open(page, '/profile', info);
  await expect(page.getByTestId('profile-premium')).toContainText('Yes');

  // Premium keeps each CSV export: the one made now is listed and downloads again.
  await open(page, '/reports', info);
  const exported = page.waitForEvent('download');
  await page.getByTestId('csv-link').click();
  const first = await (await exported).path();
  // It is stored once the download has ended: look until it is listed.
  const saved = page.getByTestId('saved-reports');
  await expect.poll(async () => {
    await open(page, '/premium', info);
    await expect(saved).toBeVisible();
    return saved.locator('tbody tr').count();
  }).toBe(1);
  const again = page.waitForEvent('download');
  await saved.getByRole('link', { name: /^Download/ }).click();
  const second = await (await again).path();
  const { readFileSync } = await import('node:fs');
  expect(readFileSync(second, 'utf8')).toBe(readFileSync(first, 'utf8'));
  expect(readFileSync(second, 'utf8')).toContain('Lunch');
});

test('a declined demo payment leaves the account as it was', async ({ page }, info) => {
  await register(page, info);
  await open(page, '/premium', info);
  await page.locator('#premium').getByRole('button', { name: /^Go premium for/ }).click();
  await page.getByRole('button', { name: 'Decline' }).click();
  await expect(page).toHaveURL(/\/premium\?result=declined/);
  await expect(page.getByTestId('premium-result')).toContainText('The payment was declined');
  const premium = page.locator('#premium');
  await expect(premium.getByRole('button', { name: /^Go premium for/ })).toBeVisible();
  await expect(premium.getByTestId('orders').locator('tbody tr').first()).toContainText('Failed: The payment was declined.');
});
