import { expect, test } from '@playwright/test';
import { addExpense, open, register } from './helpers';

test('an own category is created, renamed, and deleted into Other', async ({ page }, info) => {
  await register(page, info);
  await open(page, '/categories', info);
  await page.getByLabel('New category', { exact: true }).fill('Pets');
  await page.getByRole('button', { name: 'Add category' }).click();
  const list = page.getByTestId('categories');
  await expect(list.getByLabel('Name of Pets')).toBeVisible();

  // A duplicate name, in any case, is refused next to the field.
  await page.getByLabel('New category', { exact: true }).fill('pets');
  await page.getByRole('button', { name: 'Add category' }).click();
  await expect(page.locator('#f-name-error')).toHaveText('You already have a category with that name.');

  await list.getByLabel('Name of Pets').fill('Animals');
  await list.getByRole('listitem').filter({ has: page.getByLabel('Name of Pets') }).getByRole('button', { name: 'Rename' }).click();
  await expect(list.getByLabel('Name of Animals')).toBeVisible();

  await open(page, '/expenses', info);
  await addExpense(page, '30', 'Vet', 'Animals', '2026-01-10');

  await open(page, '/categories', info);
  await list.getByRole('listitem').filter({ has: page.getByLabel('Name of Animals') }).getByRole('button', { name: 'Delete' }).click();
  await expect(list.getByLabel('Name of Animals')).toHaveCount(0);
  await expect(list.getByRole('listitem').filter({ hasText: 'Other' })).toContainText('1 expense');
});
