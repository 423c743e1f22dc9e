import { expect, test, type Page } from '@playwright/test';
import { jsEnabled, open, register } from './helpers';
import { createRoom, inviteLink, joinByLink, live, person, send, startPanel } from './chat-helpers';

const composer = (page: Page) => page.getByLabel('Message', { exact: true });
const message = (page: Page, text: string) => page.getByTestId('message').filter({ hasText: text });

test('messages group by sender under a day line; Enter, Shift+Enter, ↑ and Escape work', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'keyboard shortcuts need JavaScript');
  const ada = await person(browser, info, 'Ada Lovelace');
  const bob = await person(browser, info, 'Bob');
  await createRoom(ada.page, info, 'Keys');
  await joinByLink(bob.page, info, await inviteLink(ada.page));
  await live(ada.page);
  await live(bob.page);

  // Enter sends; Shift+Enter starts a new line in the same message.
  await composer(ada.page).fill('first');
  await composer(ada.page).press('Enter');
  await expect(message(ada.page, 'first')).toBeVisible();
  await expect(composer(ada.page)).toHaveValue('');
  await composer(ada.page).pressSequentially('line one');
  await composer(ada.page).press('Shift+Enter');
  await composer(ada.page).pressSequentially('line two');
  await composer(ada.page).press('Enter');
  await expect(message(bob.page, 'line one').locator('.body')).toHaveText('line one\nline two');

  // Ada's two messages share one name and avatar; Bob's reply starts its own group.
  await send(bob.page, 'from Bob');
  await expect(message(ada.page, 'from Bob')).toBeVisible();
  const rows = ada.page.getByTestId('message');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).not.toHaveClass(/continues/);
  await expect(rows.nth(0).locator('.avatar')).toHaveText('AL');
  await expect(rows.nth(1)).toHaveClass(/continues/);
  await expect(rows.nth(1).locator('.avatar')).toHaveCount(0);
  await expect(rows.nth(2)).not.toHaveClass(/continues/);
  await expect(ada.page.getByTestId('day')).toHaveText(['Today']);

  // ↑ in the empty box edits the last message; Escape leaves it as it was.
  await composer(ada.page).fill('typo heer');
  await composer(ada.page).press('Enter');
  await expect(message(ada.page, 'typo heer')).toBeVisible();
  await composer(ada.page).press('ArrowUp');
  const edit = ada.page.getByLabel('Edit message');
  await expect(edit).toBeFocused();
  await expect(edit).toHaveValue('typo heer');
  await edit.press('Escape');
  await expect(edit).toHaveCount(0);
  await expect(composer(ada.page)).toBeFocused();
  await composer(ada.page).press('ArrowUp');
  await ada.page.getByLabel('Edit message').fill('typo here');
  await ada.page.getByLabel('Edit message').press('Enter');
  await expect(message(bob.page, 'typo here')).toContainText('(edited)');
  await ada.close();
  await bob.close();
});

test('a draft survives switching rooms, and unread messages are marked when the room is opened', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'drafts and the live list need JavaScript');
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  const first = await createRoom(ada.page, info, 'Drafts');
  await joinByLink(bob.page, info, await inviteLink(ada.page));
  await createRoom(ada.page, info, 'Elsewhere');
  await live(ada.page);

  await ada.page.getByTestId('rooms').getByRole('link', { name: 'Drafts' }).click();
  await expect(ada.page.getByTestId('room-title')).toHaveText('Drafts');
  await composer(ada.page).fill('half a thought');
  await ada.page.getByTestId('rooms').getByRole('link', { name: 'Elsewhere' }).click();
  await expect(ada.page.getByTestId('room-title')).toHaveText('Elsewhere');
  await expect(composer(ada.page)).toHaveValue('');
  await ada.page.getByTestId('rooms').getByRole('link', { name: 'Drafts' }).click();
  await expect(composer(ada.page)).toHaveValue('half a thought');
  await expect(ada.page).toHaveURL(first);

  // Bob is elsewhere while Ada writes: his list counts it, and the room opens at a "New messages" line.
  await send(bob.page, 'hello from Bob');
  await open(bob.page, '/chat', info);
  await live(bob.page);
  await composer(ada.page).fill('while you were away');
  await composer(ada.page).press('Enter');
  const line = bob.page.getByTestId('rooms').locator('li', { hasText: 'Drafts' });
  await expect(line.getByTestId('unread')).toHaveText('1');
  await line.getByRole('link').click();
  const newLine = bob.page.getByTestId('new-line');
  await expect(newLine).toHaveText('New messages');
  // The line sits right above the first message Bob has not read.
  await expect(bob.page.locator('[data-testid="new-line"] + li')).toContainText('while you were away');
  await expect(line.getByTestId('unread')).toHaveCount(0);
  await ada.close();
  await bob.close();
});

test('scrolling up loads older messages without moving what the reader sees', async ({ page }, info) => {
  test.skip(!jsEnabled(info), 'without JavaScript older messages are a link (covered by the server tests)');
  await register(page, info);
  const url = await createRoom(page, info, 'Long history');
  const room = Number(new URL(url).pathname.split('/').pop());
  // 70 messages through the plain form endpoint, paced under the posting rate limit.
  for (let i = 0; i < 70; i++) {
    const response = await page.request.post('/api/post_message', {
      form: { room: String(room), body: `m ${String(i).padStart(2, '0')}` },
      headers: { Origin: new URL(url).origin, Accept: 'application/json' },
    });
    expect(response.ok(), await response.text()).toBeTruthy();
    if (i % 8 === 7) await page.waitForTimeout(900);
  }
  await open(page, new URL(url).pathname, info);
  await live(page);
  const messages = page.getByTestId('message');
  await expect(messages).toHaveCount(50);
  await expect(messages.last()).toHaveText(/m 69/);
  await expect(page.getByTestId('older')).toHaveText('Scroll up for older messages');

  const scroller = page.getByTestId('scroller');
  await scroller.evaluate((el) => { el.scrollTop = -el.scrollHeight; });
  await expect(messages).toHaveCount(70);
  await expect(messages.first()).toHaveText(/m 00/);
  await expect(page.getByTestId('older')).toHaveCount(0);
  // The message that was at the top before the page was added is still on screen.
  const box = (await scroller.boundingBox())!;
  const kept = (await message(page, 'm 20').boundingBox())!;
  expect(kept.y).toBeGreaterThanOrEqual(box.y - kept.height);
  expect(kept.y).toBeLessThan(box.y + box.height);

  // Scrolled up, "Jump to latest" brings the newest message back.
  await page.getByTestId('jump').click();
  await expect(message(page, 'm 69')).toBeInViewport();
});

test('on a phone the list and the room take turns, with a back button', async ({ page }, info) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await register(page, info);
  await open(page, '/chat', info);
  await expect(page.getByTestId('chat-empty')).toBeHidden();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  await createRoom(page, info, 'Pocket');
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeHidden();
  await expect(page.getByTestId('compose')).toBeVisible();
  await expect(page.locator('#room-details')).toBeHidden();
  await page.getByRole('link', { name: 'Members (1)' }).click();
  await expect(page.locator('#room-details')).toBeVisible();
  await page.getByRole('link', { name: 'Hide members' }).click();
  await expect(page.locator('#room-details')).toBeHidden();
  await page.getByRole('link', { name: 'Back to conversations' }).click();
  await expect(page).toHaveURL(/\/chat$/);
  await expect(page.getByTestId('rooms').getByRole('link', { name: 'Pocket' })).toBeVisible();
  await expect(page.getByTestId('compose')).toHaveCount(0);
  // Nothing is wider than the screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
});

test('on a desktop the members panel can be hidden and shown', async ({ page }, info) => {
  await register(page, info);
  await createRoom(page, info, 'Panel');
  await expect(page.locator('#room-details')).toBeVisible();
  await page.getByTestId('members-toggle').click();
  await expect(page.locator('#room-details')).toBeHidden();
  await page.getByTestId('members-toggle').click();
  await expect(page.locator('#room-details')).toBeVisible();
});

test('the invite link is a full URL with a Copy button', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'copying needs JavaScript; the link itself is checked in both modes');
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await register(page, info);
  await createRoom(page, info, 'Copy me');
  const link = await inviteLink(page);
  await page.getByTestId('copy-invite').click();
  await expect(page.getByTestId('copy-invite')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  await context.close();
});

test('the chosen theme is stored and the server renders the page in it', async ({ page }, info) => {
  await register(page, info);
  await open(page, '/chat', info);
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'system');
  await page.getByTestId('nav-user').click();
  await page.getByTestId('theme').getByRole('button', { name: 'Dark' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  // The first byte of the next page already carries it: no flash of the light theme.
  const html = await (await page.request.get('/expenses')).text();
  expect(html).toContain('<html lang="en" data-theme="dark"');
  await open(page, '/expenses', info);
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(18, 21, 27)');
  await page.getByTestId('nav-user').click();
  await expect(page.getByTestId('theme').getByRole('button', { name: 'Dark' })).toHaveAttribute('aria-pressed', 'true');
  await page.getByTestId('theme').getByRole('button', { name: 'Light' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(246, 247, 249)');
});

test('an error in the live page is reported to the server', async ({ page }, info) => {
  test.skip(!jsEnabled(info), 'the listener is a script');
  await open(page, '/login', info);
  // A failure the app did not catch (a panic in the wasm is thrown as a RuntimeError the same
  // way): the page's listener, allowed by the page's CSP nonce, sends it to /client-errors.
  const report = page.waitForRequest((r) => new URL(r.url()).pathname === '/client-errors');
  await page.evaluate(() => { setTimeout(() => { throw new Error('lost wake-up in the test'); }); });
  const body = (await report).postData() ?? '';
  expect(body.startsWith('/login\n')).toBe(true);
  expect(body).toContain('lost wake-up in the test');
});
