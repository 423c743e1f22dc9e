import { expect, test } from '@playwright/test';
import { addExpense, open, register } from './helpers';

test('the reports page charts the month and exports it as CSV', async ({ page }, info) => {
  await register(page, info);
  await open(page, '/expenses', info);
  await addExpense(page, '12.50', 'Lunch, with "Bob"', 'Food', '2026-03-02');
  await addExpense(page, '40', 'Train', 'Transport', '2026-03-20');

  await open(page, '/reports?month=2026-03', info);
  await expect(page.getByTestId('report-month')).toHaveText('2026-03');
  await expect(page.getByTestId('report-total')).toHaveText('52,50\u00a0€');
  await expect(page.getByRole('img', { name: 'Spending per day, 2026-03' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'By category, 2026-03-01 to 2026-03-31' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Spending per month, 2026' })).toBeVisible();
  await expect(page.locator('svg rect.bar')).not.toHaveCount(0);

  // The breakdown over another range.
  const range = page.getByTestId('category-range');
  await range.getByLabel('From').fill('2026-03-10');
  await range.getByLabel('To').fill('2026-03-31');
  await range.getByRole('button', { name: 'Break down' }).click();
  await expect(page.getByRole('img', { name: 'By category, 2026-03-10 to 2026-03-31' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'By category, 2026-03-10 to 2026-03-31' })).toContainText('Transport');
  await expect(page.getByRole('img', { name: 'By category, 2026-03-10 to 2026-03-31' })).not.toContainText('Food');

  // The CSV, fetched with this browser's cookies, holds exactly the month's rows.
  const href = await page.getByTestId('csv-link').getAttribute('href');
  const res = await page.request.get(href!);
  expect(res.status()).toBe(200);
  expect(await res.text()).toBe(
    'date,description,category,amount,currency,note\r\n' +
      '2026-03-20,Train,Transport,40.00,EUR,\r\n' +
      '2026-03-02,"Lunch, with ""Bob""",Food,12.50,EUR,\r\n',
  );
});
