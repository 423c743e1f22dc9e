import { expect, test } from '@playwright/test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PASSWORD, logOut, open, register } from './helpers';

const NEW_PASSWORD = 'copper-lantern-meadow-77';

/**
 * The reset link mailed to `address`. Without SMTP the server writes each mail as an .eml file
 * into its data folder (what a developer running Huddle sees); this reads it like a mail client.
 */
async function mailedLink(address: string): Promise<string> {
  const dir = join(process.env.E2E_DATA_DIR!, 'mail');
  let link: string | undefined;
  await expect
    .poll(() => {
      const files = (() => { try { return readdirSync(dir); } catch { return []; } })();
      for (const f of files) {
        // Quoted-printable: join soft line breaks, decode the `=` signs.
        const mail = readFileSync(join(dir, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
        if (mail.includes(`<${address}>`) && mail.includes('Subject: Reset your Huddle password')) {
          link = mail.match(/http:\/\/\S+\/reset-password\/link\?token=[A-Za-z0-9_-]{43}/)?.[0];
        }
      }
      return link;
    }, { timeout: 10_000 })
    .toBeTruthy();
  return link!;
}

test('a forgotten password is replaced through the link in the mail', async ({ page }, info) => {
  const username = await register(page, info);
  await logOut(page);
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page.getByRole('heading', { name: 'Forgot your password?' })).toBeVisible();
  await page.getByLabel('Email', { exact: true }).fill(`${username}@example.org`);
  await page.getByRole('button', { name: 'Send the link' }).click();
  await expect(page.getByTestId('reset-sent')).toContainText('is on its way');

  // Opening the link moves its token out of the address bar.
  await page.goto(await mailedLink(`${username}@example.org`));
  await expect(page).toHaveURL(/\/reset-password$/);
  await open(page, '/reset-password', info);
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('The same password again', { exact: true }).fill('copper-lantern-meadow-78');
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await expect(page.locator('#f-confirm_password-error')).toHaveText('The two passwords are not the same.');

  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('The same password again', { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await expect(page).toHaveURL(/\/login\?reset=done$/);
  await expect(page.getByRole('status')).toContainText('Your password was changed');

  await page.getByLabel('Username or email', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('Wrong username, email or password.');
  await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome back, Grace Hopper' })).toBeVisible();

  // The link worked once.
  await logOut(page);
  await open(page, '/reset-password', info);
  await expect(page.getByTestId('reset-link-gone')).toBeVisible();
});

/** The newest link confirming `address`, from the mail the server wrote. */
async function verificationLink(address: string, after = 0): Promise<string> {
  const dir = join(process.env.E2E_DATA_DIR!, 'mail');
  let link: string | undefined;
  await expect
    .poll(() => {
      const files = (() => { try { return readdirSync(dir).sort(); } catch { return []; } })();
      const links = files
        .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '='))
        .filter((m) => m.includes(`<${address}>`) && m.includes('Subject: Confirm your email address for Huddle'))
        .map((m) => m.match(/http:\/\/\S+\/verify-email\/link\?token=[A-Za-z0-9_-]{43}/)?.[0]);
      link = links.length > after ? links[links.length - 1] : undefined;
      return link;
    }, { timeout: 10_000 })
    .toBeTruthy();
  return link!;
}

test('a new account confirms its address from the mail, after asking for the link again', async ({ page }, info) => {
  const username = await register(page, info);
  const address = `${username}@example.org`;
  await verificationLink(address);
  const reminder = page.getByTestId('verify-reminder');
  await expect(reminder).toContainText(`Please confirm your email address ${address}`);

  await reminder.getByRole('button', { name: 'Send the link again' }).click();
  await expect(page).toHaveURL(/\/verify-email\?sent=1$/);
  await expect(page.getByRole('heading', { name: 'Check your inbox' })).toBeVisible();

  await page.goto(await verificationLink(address, 1));
  await expect(page).toHaveURL(/\/verify-email\?result=done$/);
  await expect(page.getByTestId('verify-result')).toHaveText('Your email address is confirmed. Thank you.');
  await open(page, '/', info);
  await expect(page.getByRole('heading', { name: 'Welcome back, Grace Hopper' })).toBeVisible();
  await expect(page.getByTestId('verify-reminder')).toHaveCount(0);
});

test('a new email address replaces the old one once its link is opened', async ({ page }, info) => {
  const username = await register(page, info);
  const address = `${username}.new@example.org`;
  await open(page, '/profile', info);
  await page.getByLabel('New email address', { exact: true }).fill(address);
  await page.getByLabel('Your password', { exact: true }).fill('not-my-password-at-all');
  await page.getByRole('button', { name: 'Send the link', exact: true }).click();
  await expect(page.locator('#f-password-error')).toHaveText('That is not your current password.');

  await page.getByLabel('New email address', { exact: true }).fill(address);
  await page.getByLabel('Your password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Send the link', exact: true }).click();
  await expect(page).toHaveURL(/\/verify-email\?sent=1$/);
  await open(page, '/profile', info);
  await expect(page.locator('dl.facts')).toContainText(`${username}@example.org`);

  await page.goto(await verificationLink(address));
  await expect(page.getByTestId('verify-result')).toHaveText('Your email address is confirmed. Thank you.');
  await open(page, '/profile', info);
  await expect(page.locator('dl.facts')).toContainText(address);
  await expect(page.getByTestId('verify-reminder')).toHaveCount(0);
});
