import { expect, type Browser, type Page, type TestInfo } from '@playwright/test';
import { open, register, uniqueName } from './helpers';

/** Opens one of the sidebar's start panels ("New room", "Message someone", "Join a room"). */
export async function startPanel(page: Page, name: string) {
  await page.locator('.sidebar-actions summary', { hasText: name }).click();
}

/** A signed-in user in their own browser context. */
export async function person(browser: Browser, info: TestInfo, name: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const username = await register(page, info, uniqueName(name.toLowerCase().slice(0, 3)), name);
  return { page, username, close: () => context.close() };
}

export async function createRoom(page: Page, info: TestInfo, name: string): Promise<string> {
  await open(page, '/chat', info);
  await startPanel(page, 'New room');
  const form = page.getByTestId('create-room');
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByRole('button', { name: 'Create room' }).click();
  await expect(page.getByTestId('room-title')).toHaveText(name);
  return page.url();
}

/** The room's invite link as its creator sees it on the room page: a full URL on this site. */
export async function inviteLink(page: Page): Promise<string> {
  const link = await page.getByTestId('invite-link').inputValue();
  expect(new URL(link).origin).toBe(new URL(page.url()).origin);
  return link;
}

export async function joinByLink(page: Page, info: TestInfo, link: string) {
  await open(page, '/chat', info);
  await startPanel(page, 'Join a room');
  const form = page.getByTestId('join-room');
  await form.getByLabel('Invite link or public room number').fill(link);
  await form.getByRole('button', { name: 'Join' }).click();
  await expect(page.getByTestId('compose')).toBeVisible();
}

export async function send(page: Page, text: string) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

export async function live(page: Page) {
  await expect(page.getByTestId('connection')).toHaveText('live');
}

