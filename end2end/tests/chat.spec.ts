import { expect, test, type Browser, type Page, type TestInfo, type WebSocketRoute } from '@playwright/test';
import { jsEnabled, open, register, uniqueName } from './helpers';
import { createRoom, inviteLink, joinByLink, live, person, send, startPanel } from './chat-helpers';

test('two people chat live in a room: presence, typing, edits and deletes', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'needs the live socket');
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  const link = await createRoom(ada.page, info, 'Standup');
  await joinByLink(bob.page, info, await inviteLink(ada.page));
  await live(bob.page);
  await live(ada.page);

  // Ada reloads to see the new member; Bob is online.
  await open(ada.page, new URL(link).pathname, info);
  await live(ada.page);
  const bobInList = ada.page.getByTestId('members').locator('li', { hasText: 'Bob' });
  await expect(bobInList.getByTestId('presence')).toHaveAttribute('data-online', 'true');

  await ada.page.getByLabel('Message', { exact: true }).pressSequentially('hel');
  await expect(bob.page.getByTestId('typing')).toHaveText('Ada is typing…');
  await ada.page.getByLabel('Message', { exact: true }).fill('hello https://example.org');
  await ada.page.getByRole('button', { name: 'Send' }).click();
  const inBob = bob.page.getByTestId('message').filter({ hasText: 'hello' });
  await expect(inBob).toBeVisible();
  await expect(inBob.getByRole('link', { name: 'https://example.org' })).toHaveAttribute('href', 'https://example.org');
  await expect(bob.page.getByTestId('typing')).toHaveText('');
  // Typing again right after posting is announced again.
  await ada.page.getByLabel('Message', { exact: true }).pressSequentially('and');
  await expect(bob.page.getByTestId('typing')).toHaveText('Ada is typing…');
  await ada.page.getByLabel('Message', { exact: true }).fill('');

  await send(bob.page, 'hi Ada');
  await expect(ada.page.getByTestId('message').filter({ hasText: 'hi Ada' })).toBeVisible();

  const mine = ada.page.getByTestId('message').filter({ hasText: 'hello' });
  await mine.getByRole('button', { name: 'Edit' }).click();
  // An empty edit is refused in the box, which keeps it open.
  await mine.getByLabel('Edit message').fill('   ');
  await mine.getByRole('button', { name: 'Save' }).click();
  await expect(mine.getByText('Write something first.')).toBeVisible();
  await mine.getByLabel('Edit message').fill('hello everyone');
  await mine.getByRole('button', { name: 'Save' }).click();
  await expect(bob.page.getByTestId('message').filter({ hasText: 'hello everyone' })).toContainText('(edited)');
  await ada.page.getByTestId('message').filter({ hasText: 'hello everyone' }).getByRole('button', { name: 'Delete' }).click();
  await expect(bob.page.getByTestId('message').first()).toContainText('This message was deleted.');

  // Ada leaves: Bob sees her go offline.
  await ada.close();
  const adaInList = bob.page.getByTestId('members').locator('li', { hasText: 'Ada' });
  await bob.page.reload();
  await expect(adaInList.getByTestId('presence')).toHaveAttribute('data-online', 'false');
  await bob.close();
});

test('a direct message shows up unread, then as seen once read', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'needs the live socket');
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  await open(bob.page, '/chat', info);
  await live(bob.page);

  await open(ada.page, '/chat', info);
  await startPanel(ada.page, 'Message someone');
  await ada.page.getByTestId('start-direct').getByLabel('Their username').fill(bob.username);
  await ada.page.getByRole('button', { name: 'Open conversation' }).click();
  await expect(ada.page.getByTestId('room-title')).toHaveText('Bob');
  await live(ada.page);
  await send(ada.page, 'psst, Bob');
  await expect(ada.page.getByTestId('message').filter({ hasText: 'psst' })).toBeVisible();

  // Bob's chat home updates by itself: the conversation, its unread count, Ada online.
  const line = bob.page.getByTestId('rooms').locator('li', { hasText: 'Ada' });
  await expect(line.getByTestId('unread')).toHaveText('1');
  await expect(line.getByTestId('presence')).toHaveAttribute('data-online', 'true');
  await expect(ada.page.getByTestId('seen')).toHaveText('');

  await line.getByRole('link', { name: 'Ada' }).click();
  await expect(bob.page.getByTestId('message').filter({ hasText: 'psst' })).toBeVisible();
  await expect(ada.page.getByTestId('seen')).toHaveText('Seen');
  await ada.close();
  await bob.close();
});

test('a message typed while the connection is down is sent after reconnecting, once', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'needs the live socket');
  const ada = await person(browser, info, 'Ada');
  // The socket goes through the test, which can cut it like a dropped network.
  let down = false;
  const sockets: WebSocketRoute[] = [];
  await ada.page.routeWebSocket(/\/ws/, (ws) => {
    if (down) {
      ws.close({ code: 4000, reason: 'network down' });
      return;
    }
    ws.connectToServer();
    sockets.push(ws);
  });
  const link = await createRoom(ada.page, info, 'Notes');
  await live(ada.page);
  down = true;
  for (const ws of sockets) await ws.close({ code: 4000, reason: 'network down' });
  await expect(ada.page.getByTestId('connection')).not.toHaveText('live');
  await send(ada.page, 'written offline');
  await expect(ada.page.getByTestId('pending')).toContainText('written offline');
  down = false;
  await expect(ada.page.getByTestId('message').filter({ hasText: 'written offline' })).toHaveCount(1, { timeout: 20_000 });
  await expect(ada.page.getByTestId('pending')).toHaveCount(0);
  await open(ada.page, new URL(link).pathname, info);
  await expect(ada.page.getByTestId('message').filter({ hasText: 'written offline' })).toHaveCount(1);
  await ada.close();
});

test('a room works without JavaScript: create, post, read', async ({ page }, info) => {
  await register(page, info);
  await createRoom(page, info, 'Plain');
  await send(page, 'posted by a form');
  await expect(page.getByTestId('message').filter({ hasText: 'posted by a form' })).toBeVisible();
  // Refused before storing: in the browser with JavaScript, by the server without.
  await send(page, '   ');
  await expect(page.getByText('Write something first.')).toBeVisible();
  await open(page, '/chat', info);
  await expect(page.getByTestId('rooms').locator('li', { hasText: 'Plain' })).toContainText('posted by a form');
});

test('a private room is joined through its invite link, a public one from the directory', async ({ browser }, info) => {
  // Four people, each signing up in a fresh browser, and some thirty page loads: 30 s is the
  // time a one-person test gets; on 2 cores shared with another worker this one takes 20-30 s.
  test.setTimeout(60_000);
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  const name = `Hidden den ${uniqueName('r')}`;
  const roomUrl = await createRoom(ada.page, info, name);
  const invite = await inviteLink(ada.page);
  expect(invite).toMatch(/\/chat\/join\/\d+\.[A-Za-z0-9_-]{32}$/);

  // Without the link the room does not exist for Bob.
  await open(bob.page, new URL(roomUrl).pathname, info);
  await expect(bob.page.getByTestId('room-error')).toHaveText('Not found.');
  await expect(bob.page.getByText(name)).toHaveCount(0);

  // With it he sees the room's name and joins.
  await open(bob.page, new URL(invite).pathname, info);
  await expect(bob.page.getByTestId('room-title')).toHaveText(name);
  await bob.page.getByRole('button', { name: 'Join this room' }).click();
  await expect(bob.page.getByTestId('compose')).toBeVisible();

  // Ada makes the room public: it is listed, and Cy joins it from the directory.
  await open(ada.page, new URL(roomUrl).pathname, info);
  const access = ada.page.getByTestId('room-access');
  await access.getByLabel('Who can join').selectOption('public');
  await access.getByRole('button', { name: 'Save access' }).click();
  await expect(ada.page.getByTestId('visibility')).toContainText('Public room');
  const cy = await person(browser, info, 'Cy');
  await open(cy.page, `/rooms?q=${encodeURIComponent(name.toLowerCase())}`, info);
  const line = cy.page.getByTestId('public-rooms').locator('li', { hasText: name });
  await line.getByRole('button', { name: 'Join' }).click();
  await expect(cy.page.getByTestId('compose')).toBeVisible();

  // Ada replaces the link. Dan, signed out, opens the old one: he signs up on the way and lands
  // back on it, where it says it no longer works; the new one lets him in.
  await open(ada.page, new URL(roomUrl).pathname, info);
  await ada.page.getByRole('button', { name: 'New link (the old one stops working)' }).click();
  await expect(ada.page.getByTestId('invite-link')).not.toHaveValue(invite);
  const fresh = await inviteLink(ada.page);
  const context = await browser.newContext();
  const dan = await context.newPage();
  await dan.goto(new URL(invite).pathname);
  await expect(dan).toHaveURL(/\/login\?next=/);
  await dan.getByRole('link', { name: 'Create an account' }).click();
  await expect(dan).toHaveURL(/\/register\?next=/);
  const username = uniqueName('dan');
  await dan.getByLabel('Name', { exact: true }).fill('Dan');
  await dan.getByLabel('Username', { exact: true }).fill(username);
  await dan.getByLabel('Email', { exact: true }).fill(`${username}@example.org`);
  await dan.getByLabel('Password', { exact: true }).fill('violet-otter-harbour-42');
  await dan.getByRole('button', { name: 'Create account' }).click();
  await expect(dan.getByTestId('invite-error')).toHaveText('This invite link is invalid or has expired.');
  await open(dan, new URL(fresh).pathname, info);
  await dan.getByRole('button', { name: 'Join this room' }).click();
  await expect(dan.getByTestId('compose')).toBeVisible();
  await context.close();
  for (const p of [ada, bob, cy]) await p.close();
});

test('a direct message notifies a hidden tab, once permission was given on a click', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'needs the live socket');
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  // Record what the page asks of the Notification API, and let the test hide the tab.
  await bob.page.addInitScript(() => {
    const w = window as any;
    w.__notes = [];
    w.__asked = 0;
    w.__hidden = false;
    w.Notification = class {
      constructor(title: string, options?: { body?: string }) { w.__notes.push({ title, body: options?.body }); }
      static get permission() { return w.__asked > 0 ? 'granted' : 'default'; }
      static requestPermission() { w.__asked += 1; return Promise.resolve('granted'); }
    };
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => w.__hidden });
  });
  await open(bob.page, '/chat', info);
  await live(bob.page);
  expect(await bob.page.evaluate(() => (window as any).__asked)).toBe(0);
  await bob.page.getByRole('button', { name: 'Notify me of direct messages' }).click();
  expect(await bob.page.evaluate(() => (window as any).__asked)).toBe(1);

  await open(ada.page, '/chat', info);
  await startPanel(ada.page, 'Message someone');
  await ada.page.getByTestId('start-direct').getByLabel('Their username').fill(bob.username);
  await ada.page.getByRole('button', { name: 'Open conversation' }).click();
  await live(ada.page);
  await expect(bob.page.getByTestId('rooms').locator('li', { hasText: 'Ada' })).toBeVisible();

  await bob.page.evaluate(() => { (window as any).__hidden = true; });
  await send(ada.page, 'are you there?');
  await expect.poll(() => bob.page.evaluate(() => (window as any).__notes)).toEqual([{ title: 'Ada (Huddle)', body: 'are you there?' }]);

  // A visible tab shows the message; it does not notify.
  await bob.page.evaluate(() => { (window as any).__hidden = false; });
  await send(ada.page, 'never mind');
  await expect(bob.page.getByTestId('rooms').locator('li', { hasText: 'Ada' })).toContainText('never mind');
  expect(await bob.page.evaluate(() => (window as any).__notes.length)).toBe(1);
  await ada.close();
  await bob.close();
});
