import { expect, test, type Page } from '@playwright/test';
import { jsEnabled, open } from './helpers';
import { createRoom, inviteLink, joinByLink, person } from './chat-helpers';

/** Adds a shared expense through the ledger page's form, split by shares. */
async function addByShares(page: Page, what: string, amount: string, shares: [string, string][]) {
  const form = page.getByTestId('add-shared');
  await form.getByLabel('Description', { exact: true }).fill(what);
  await form.getByLabel('Amount', { exact: true }).fill(amount);
  await form.getByLabel('Currency', { exact: true }).fill('EUR');
  await form.getByLabel('Split', { exact: true }).selectOption({ label: 'By shares' });
  for (const [name, share] of shares) await form.getByLabel(`Share, percentage or amount of ${name}`).fill(share);
  await form.getByRole('button', { name: 'Add', exact: true }).click();
}

test('three people split a dinner unevenly, see the same balances and settle up', async ({ browser }, info) => {
  test.setTimeout(120_000);
  const js = jsEnabled(info);
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  const cyra = await person(browser, info, 'Cyra');
  const roomUrl = await createRoom(ada.page, info, 'Trip to Porto');
  const link = await inviteLink(ada.page);
  await joinByLink(bob.page, info, link);
  await joinByLink(cyra.page, info, link);

  // From the room, to its shared expenses.
  await ada.page.getByTestId('room-expenses').click();
  await expect(ada.page.getByRole('heading', { name: 'Shared expenses' })).toBeVisible();
  const path = new URL(ada.page.url()).pathname;
  expect(path).toBe(`${new URL(roomUrl).pathname}/expenses`);
  await expect(ada.page.getByTestId('settled')).toHaveText('Everyone is settled up.');
  for (const p of [bob.page, cyra.page]) await open(p, path, info);

  // Ada paid 90.00 for dinner: 1 share hers, 2 Bob's, 3 Cyra's.
  await addByShares(ada.page, 'Dinner', '90', [['Ada (you)', '1'], ['Bob', '2'], ['Cyra', '3']]);
  await expect(ada.page.getByTestId('entry').first()).toContainText('Dinner: 90,00 €, paid by Ada');
  await expect(ada.page.getByTestId('entry').first()).toContainText('Ada 15,00 € · Bob 30,00 € · Cyra 45,00 €');
  // The others see it live with JavaScript; without, on their next visit.
  if (!js) for (const p of [bob.page, cyra.page]) await open(p, path, info);
  await expect(bob.page.getByTestId('balances-EUR')).toContainText('You owe 30,00 €');
  await expect(cyra.page.getByTestId('balances-EUR')).toContainText('You owe 45,00 €');
  await expect(ada.page.getByTestId('balances-EUR')).toContainText('You are owed 75,00 €');

  // Bob puts his part into his own expenses, so his reports count it.
  await bob.page.getByTestId('copy-part').getByRole('button', { name: 'Add' }).click();
  await expect(bob.page.getByText('Your part is in your expenses.')).toBeVisible();
  await open(bob.page, '/expenses', info);
  await expect(bob.page.getByTestId('expenses')).toContainText('Dinner');
  await open(bob.page, path, info);

  // Cyra's dashboard says so too.
  const dashboard = await cyra.page.context().newPage();
  await open(dashboard, '/', info);
  await expect(dashboard.getByTestId('shared-balances')).toContainText('Trip to Porto: you owe 45,00 €');
  await dashboard.close();

  // Each records the payment the plan suggests; the balances reach zero for everyone.
  await bob.page.getByTestId('settle-EUR').getByRole('listitem').filter({ hasText: 'You pay Ada 30,00 €' }).getByRole('button', { name: 'Record payment' }).click();
  await expect(bob.page.getByTestId('balances-EUR')).not.toContainText('You owe');
  if (!js) await open(cyra.page, path, info);
  await expect(cyra.page.getByTestId('settle-EUR')).toContainText('You pay Ada 45,00 €');
  await cyra.page.getByTestId('settle-EUR').getByRole('listitem').filter({ hasText: 'You pay Ada 45,00 €' }).getByRole('button', { name: 'Record payment' }).click();
  await expect(cyra.page.getByTestId('settled')).toBeVisible();
  if (!js) for (const p of [ada.page, bob.page]) await open(p, path, info);
  for (const p of [ada.page, bob.page, cyra.page]) await expect(p.getByTestId('settled')).toHaveText('Everyone is settled up.');
  await expect(ada.page.getByTestId('entry').first()).toContainText('Cyra paid Ada 45,00 €');
  for (const p of [ada, bob, cyra]) await p.close();
});

test('a bad split is refused beside its field and nothing is stored', async ({ browser }, info) => {
  const ada = await person(browser, info, 'Ada');
  await createRoom(ada.page, info, 'Flat');
  await ada.page.getByTestId('room-expenses').click();
  await expect(ada.page.getByRole('heading', { name: 'Shared expenses' })).toBeVisible();
  const form = ada.page.getByTestId('add-shared');
  await form.getByLabel('Description', { exact: true }).fill('Rent');
  await form.getByLabel('Amount', { exact: true }).fill('500');
  await form.getByLabel('Split', { exact: true }).selectOption({ label: 'By percentage' });
  await form.getByLabel('Share, percentage or amount of Ada (you)').fill('60');
  await form.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(ada.page.getByText('The percentages must add up to 100.')).toBeVisible();
  await expect(ada.page.getByTestId('entry')).toHaveCount(0);
  await ada.close();
});

test('whoever added a bill edits and deletes it from the ledger, and the history says so', async ({ browser }, info) => {
  const ada = await person(browser, info, 'Ada');
  await createRoom(ada.page, info, 'Flat');
  await ada.page.getByTestId('room-expenses').click();
  await expect(ada.page.getByRole('heading', { name: 'Shared expenses' })).toBeVisible();
  await addByShares(ada.page, 'Rent', '500', [['Ada (you)', '1']]);
  const entry = ada.page.getByTestId('entry').first();
  await expect(entry).toContainText('Rent: 500,00 €, paid by Ada');
  await entry.locator('summary', { hasText: 'Edit' }).click();
  const form = entry.getByTestId('edit-shared');
  await form.getByLabel('Amount', { exact: true }).fill('450');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(ada.page.getByTestId('entry').first()).toContainText('Rent: 450,00 €, paid by Ada');
  await expect(ada.page.getByTestId('entry').first()).toContainText('(edited)');
  await ada.page.getByTestId('entry').first().locator('summary', { hasText: 'History' }).click();
  await expect(ada.page.getByTestId('entry').first()).toContainText('Edited by Ada');
  await ada.page.getByTestId('entry').first().getByRole('button', { name: 'Delete' }).click();
  await expect(ada.page.getByTestId('entry')).toHaveCount(0);
  await ada.close();
});

test('a bill is a card in the room timeline that follows its edits and its deletion', async ({ browser }, info) => {
  test.setTimeout(90_000);
  const js = jsEnabled(info);
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  const roomUrl = await createRoom(ada.page, info, 'Flat');
  await joinByLink(bob.page, info, await inviteLink(ada.page));
  const roomPath = new URL(roomUrl).pathname;
  await open(bob.page, roomPath, info);

  await ada.page.getByTestId('room-expenses').click();
  await expect(ada.page.getByRole('heading', { name: 'Shared expenses' })).toBeVisible();
  await addByShares(ada.page, 'Dinner', '90', [['Ada (you)', '1'], ['Bob', '2']]);
  await expect(ada.page.getByTestId('entry').first()).toContainText('Dinner: 90,00 €, paid by Ada');

  // Bob's timeline shows the card live (without JavaScript, on his next visit): who paid, each part.
  if (!js) await open(bob.page, roomPath, info);
  const card = bob.page.getByTestId('bill-card');
  await expect(card).toContainText('Dinner: 90,00 €');
  await expect(card).toContainText('Paid by Ada');
  await expect(card.getByRole('listitem').filter({ hasText: 'Bob (you)' })).toContainText('60,00 €');
  await expect(card.getByRole('listitem').filter({ hasText: 'Ada' })).toContainText('30,00 €');
  // A card is changed in the ledger only: the chat offers no edit or delete for it.
  await open(ada.page, roomPath, info);
  await expect(ada.page.getByTestId('bill-card')).toContainText('Dinner: 90,00 €');
  await expect(ada.page.getByTestId('message').filter({ has: ada.page.getByTestId('bill-card') }).getByRole('button')).toHaveCount(0);

  // Ada edits the bill: the same card shows the new amount.
  await ada.page.getByTestId('bill-card').getByRole('link', { name: 'Open in shared expenses' }).click();
  await expect(ada.page.getByRole('heading', { name: 'Shared expenses' })).toBeVisible();
  expect(new URL(ada.page.url()).hash).toMatch(/^#entry-\d+$/);
  const entry = ada.page.getByTestId('entry').first();
  await entry.locator('summary', { hasText: 'Edit' }).click();
  await entry.getByTestId('edit-shared').getByLabel('Amount', { exact: true }).fill('120');
  await entry.getByTestId('edit-shared').getByRole('button', { name: 'Save changes' }).click();
  await expect(ada.page.getByTestId('entry').first()).toContainText('Dinner: 120,00 €');
  if (!js) await open(bob.page, roomPath, info);
  await expect(card).toContainText('Dinner: 120,00 €');
  await expect(card.getByRole('listitem').filter({ hasText: 'Bob (you)' })).toContainText('80,00 €');
  await expect(bob.page.getByTestId('bill-card')).toHaveCount(1);

  // Bob records paying his part: a payment card. Ada deletes the bill: its card says so.
  await open(bob.page, `${roomPath}/expenses`, info);
  await bob.page.getByTestId('settle-EUR').getByRole('button', { name: 'Record payment' }).click();
  await expect(bob.page.getByTestId('settled')).toBeVisible();
  await open(bob.page, roomPath, info);
  await expect(bob.page.getByTestId('bill-card').last()).toContainText('Bob paid Ada 80,00 €');
  await open(ada.page, `${roomPath}/expenses`, info);
  await ada.page.getByTestId('entry').filter({ hasText: 'Dinner' }).getByRole('button', { name: 'Delete' }).click();
  await expect(ada.page.getByTestId('entry').filter({ hasText: 'Dinner' })).toHaveCount(0);
  if (!js) await open(bob.page, roomPath, info);
  await expect(bob.page.getByTestId('bill-card').first()).toContainText('Shared expense · deleted');
  await expect(bob.page.getByTestId('bill-card').first().getByRole('link')).toHaveCount(0);
  for (const p of [ada, bob]) await p.close();
});
