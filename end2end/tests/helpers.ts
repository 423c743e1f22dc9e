import { expect, type Page, type TestInfo } from '@playwright/test';

export const PASSWORD = 'violet-otter-harbour-42';

/** A username no other test uses. */
export function uniqueName(prefix = 'u'): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export function jsEnabled(info: TestInfo): boolean {
  return info.project.use.javaScriptEnabled !== false;
}

/** Opens a page; with JavaScript on, waits until the app has hydrated. */
export async function open(page: Page, path: string, info: TestInfo) {
  await page.goto(path);
  if (jsEnabled(info)) {
    await expect(page.locator('main')).toHaveAttribute('data-hydrated', 'true');
  }
}

/** Registers a new account through the form and checks it lands on the dashboard. */
export async function register(page: Page, info: TestInfo, username = uniqueName(), name = 'Grace Hopper') {
  await open(page, '/register', info);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Email', { exact: true }).fill(`${username}@example.org`);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: `Welcome back, ${name}` })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  return username;
}

/** Adds an expense through the form on /expenses and waits until the list shows it. */
export async function addExpense(page: Page, amount: string, description: string, category: string, day: string) {
  const form = page.getByTestId('add-expense');
  await form.getByLabel(/^Amount/).fill(amount);
  await form.getByLabel('Description', { exact: true }).fill(description);
  await form.getByLabel('Category', { exact: true }).selectOption({ label: category });
  await form.getByLabel('Date', { exact: true }).fill(day);
  await form.getByRole('button', { name: 'Add expense' }).click();
  await expect(page.getByTestId('expenses').getByRole('link', { name: description })).toBeVisible();
}

/** Logs out through the user menu in the top bar. */
export async function logOut(page: Page) {
  await page.getByTestId('nav-user').click();
  await page.getByRole('button', { name: 'Log out' }).click();
}
