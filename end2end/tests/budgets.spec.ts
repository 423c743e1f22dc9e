import { expect, test } from '@playwright/test';
import { open, register } from './helpers';

test('a budget set on the budgets page shows its state on the dashboard', async ({ page }, info) => {
  await register(page, info);
  const quick = page.getByTestId('quick-add');
  await quick.getByLabel(/^Amount/).fill('90');
  await quick.getByLabel('Description').fill('Groceries');
  await quick.getByLabel('Category').selectOption({ label: 'Food' });
  await quick.getByRole('button', { name: 'Add for today' }).click();
  await expect(page.getByTestId('recent')).toContainText('Groceries');

  await open(page, '/budgets', info);
  const food = page.getByTestId('budget-forms').getByRole('listitem').filter({ hasText: 'Food' });
  await food.getByLabel(/Monthly budget for Food/).fill('100');
  await food.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('budgets')).toContainText('90,00\u00a0€ of 100,00\u00a0€ (90 %)');

  await open(page, '/', info);
  await expect(page.locator('[data-testid=budgets] [data-state=close]').first()).toContainText('close to the budget');
});
