import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { addExpense, jsEnabled, open, register } from './helpers';

async function freshUserOnExpenses(page: Page, info: TestInfo) {
  await register(page, info);
  await open(page, '/expenses', info);
}

test('expenses are added, edited and deleted', async ({ page }, info) => {
  await freshUserOnExpenses(page, info);
  await addExpense(page, '12,50', 'Lunch with Ada', 'Food', '2026-03-14');
  await expect(page.getByTestId('summary')).toHaveText('1 expense · total 12,50\u00a0€');

  await page.getByRole('link', { name: 'Lunch with Ada' }).click();
  await expect(page.getByRole('heading', { name: 'Edit expense' })).toBeVisible();
  if (jsEnabled(info)) await expect(page.locator('main')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel(/^Amount/).fill('15');
  await page.getByLabel('Description', { exact: true }).fill('Dinner with Ada');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/expenses$/);
  await expect(page.getByTestId('summary')).toHaveText('1 expense · total 15,00\u00a0€');

  await page.getByRole('link', { name: 'Dinner with Ada' }).click();
  await page.getByRole('button', { name: 'Delete this expense' }).click();
  await expect(page).toHaveURL(/\/expenses$/);
  await expect(page.getByTestId('summary')).toHaveText('0 expenses · total 0,00\u00a0€');
});

test('a refused expense shows why and keeps what was typed', async ({ page }, info) => {
  await freshUserOnExpenses(page, info);
  const form = page.getByTestId('add-expense');
  await form.getByLabel(/^Amount/).fill('12.345');
  await form.getByLabel('Description', { exact: true }).fill('Too precise');
  await form.getByRole('button', { name: 'Add expense' }).click();
  await expect(page.locator('#f-amount-error')).toHaveText('Use at most two decimals.');
  await expect(form.getByLabel('Description', { exact: true })).toHaveValue('Too precise');
  await expect(page.getByTestId('summary')).toHaveText('0 expenses · total 0,00\u00a0€');
  await expect(page.getByTestId('pending-expense')).toHaveCount(0);
});

test('filters narrow the list and pages keep them', async ({ page }, info) => {
  await freshUserOnExpenses(page, info);
  await addExpense(page, '10', 'Groceries', 'Food', '2026-01-05');
  await addExpense(page, '2.50', 'Bus ticket', 'Transport', '2026-01-20');
  await addExpense(page, '7', 'Coffee beans', 'Food', '2026-02-01');

  const filters = page.getByRole('search');
  await filters.getByLabel('Category').selectOption({ label: 'Food' });
  await filters.getByLabel('Rows').selectOption('10');
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByTestId('summary')).toHaveText('2 expenses · total 17,00\u00a0€');

  await open(page, '/expenses?from=2026-01-01&to=2026-01-31', info);
  await expect(page.getByTestId('summary')).toHaveText('2 expenses · total 12,50\u00a0€');
  await open(page, '/expenses?q=coffee', info);
  await expect(page.getByTestId('expenses').getByRole('listitem')).toHaveCount(1);
  // The list's CSV link exports exactly the filtered rows.
  const csv = await page.request.get((await page.getByTestId('list-csv').getAttribute('href'))!);
  expect((await csv.text()).split('\r\n').filter((l) => l).slice(1)).toEqual(['2026-02-01,Coffee beans,Food,7.00,EUR,']);
});

test('the list pages through older expenses with the filter kept', async ({ page }, info) => {
  // Thirteen form posts, each a full page load without JavaScript: more than 30 s on 2 busy cores.
  test.setTimeout(60_000);
  await freshUserOnExpenses(page, info);
  for (let i = 1; i <= 12; i++) {
    await addExpense(page, `${i}`, `Item ${i}`, 'Food', `2026-04-${String(i).padStart(2, '0')}`);
  }
  await open(page, '/expenses?category=&per=10', info);
  await expect(page.getByTestId('expenses').getByRole('listitem')).toHaveCount(10);
  await page.getByRole('link', { name: 'Older →' }).click();
  await expect(page).toHaveURL(/per=10/);
  await expect(page.getByTestId('expenses').getByRole('listitem')).toHaveCount(2);
  await expect(page.getByTestId('expenses')).toContainText('Item 1');
  await page.getByRole('link', { name: '← Newer' }).click();
  await expect(page.getByTestId('expenses').getByRole('listitem')).toHaveCount(10);
  await expect(page.getByTestId('expenses')).toContainText('Item 12');
});

test('the dashboard shows this month and adds from the quick form', async ({ page }, info) => {
  await register(page, info);
  const quick = page.getByTestId('quick-add');
  await quick.getByLabel(/^Amount/).fill('4.20');
  await quick.getByLabel('Description').fill('Coffee');
  await quick.getByRole('button', { name: 'Add for today' }).click();
  await expect(page.getByTestId('recent')).toContainText('Coffee · 4,20');
  await expect(page.getByTestId('month-total')).toHaveText('4,20\u00a0€');
});
