import { expect, test } from '@playwright/test';
import { PASSWORD, jsEnabled, logOut, open, register, uniqueName } from './helpers';

test('a visitor registers, logs out and logs back in by email', async ({ page }, info) => {
  const username = await register(page, info);
  await expect(page.getByTestId('nav-user')).toHaveText('Grace Hopper');

  await logOut(page);
  await expect(page).toHaveURL(/\/login(\?next=[^&]*)?$/);
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();

  await page.getByLabel('Username or email', { exact: true }).fill(`${username}@example.org`);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome back, Grace Hopper' })).toBeVisible();
});

test('a wrong password is refused without saying which part was wrong', async ({ page }, info) => {
  const username = await register(page, info);
  await logOut(page);
  await expect(page).toHaveURL(/\/login(\?next=[^&]*)?$/);

  await page.getByLabel('Username or email', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill('not-my-password-at-all');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('Wrong username, email or password.');
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
});

test('a taken username is shown next to its field', async ({ page, browser }, info) => {
  const username = await register(page, info);

  const other = await browser.newContext();
  const p2 = await other.newPage();
  await open(p2, '/register', info);
  await p2.getByLabel('Name', { exact: true }).fill('Someone Else');
  await p2.getByLabel('Username', { exact: true }).fill(username);
  await p2.getByLabel('Email', { exact: true }).fill(`${uniqueName()}@example.org`);
  await p2.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await p2.getByRole('button', { name: 'Create account' }).click();
  await expect(p2.locator('#f-username-error')).toHaveText('That username is taken.');
  await other.close();
});

test('the sessions page lists each login and revokes another device', async ({ page, browser }, info) => {
  const username = await register(page, info);

  const phoneContext = await browser.newContext();
  const phone = await phoneContext.newPage();
  await open(phone, '/login', info);
  await phone.getByLabel('Username or email', { exact: true }).fill(username);
  await phone.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await phone.getByRole('button', { name: 'Log in' }).click();
  await expect(phone.getByRole('heading', { name: 'Welcome back, Grace Hopper' })).toBeVisible();

  await open(page, '/sessions', info);
  const rows = page.locator('li.session');
  await expect(rows).toHaveCount(2);
  await expect(page.locator('li.session[data-current="true"]')).toContainText('This device');
  await page.locator('li.session[data-current="false"]').getByRole('button', { name: 'Revoke' }).click();
  await expect(rows).toHaveCount(1);

  // The phone's refresh token is dead: once its short-lived access token is gone, it is signed out.
  await phoneContext.clearCookies({ name: 'huddle_access' });
  await open(phone, '/profile', info);
  await expect(phone).toHaveURL(/\/login(\?next=[^&]*)?$/);
  await phoneContext.close();
});

test('the profile shows the account and changes the name', async ({ page }, info) => {
  const username = await register(page, info);
  await open(page, '/profile', info);
  await expect(page.locator('dl.facts').getByText(`${username}@example.org`)).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill('Grace B. Hopper');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByTestId('profile-name')).toHaveText('Grace B. Hopper');
});

test('with JavaScript, a bad field is caught in the browser without a request', async ({ page }, info) => {
  test.skip(!jsEnabled(info), 'needs the hydrated app');
  const calls: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) calls.push(r.url()); });
  await open(page, '/register', info);

  await page.getByLabel('Name', { exact: true }).fill('Grace Hopper');
  await page.getByLabel('Username', { exact: true }).fill('ab');
  await page.getByLabel('Email', { exact: true }).fill('grace@example.org');
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();

  await expect(page.locator('#f-username-error')).toHaveText('A username needs at least 3 characters.');
  await expect(page.locator('#f-password-error')).toHaveText('A password needs at least 10 characters.');
  expect(calls).toEqual([]);
  await expect(page).toHaveURL(/\/register$/);
});
