import { expect, test, type Browser } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORD_PEERS, joinCall, legs, startMeeting } from './call-helpers';
import { createRoom, inviteLink, joinByLink, live, send } from './chat-helpers';
import { jsEnabled, open, register, uniqueName } from './helpers';

// Two nodes of their own on PostgreSQL, with a Redis of their own between them (never the
// machine's 6379): people on one node and people on the other chat live, and a call between
// them connects and its media flows. scripts/test.sh sets E2E_CLUSTER=1; run alone, the spec
// says why it skips.
test.describe.configure({ mode: 'serial' });

const PG = process.env.E2E_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const started: ChildProcess[] = [];
let database = '';
let nodes: string[] = [];

/** A loopback port free now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function ready(url: string, what: string, child: ChildProcess) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready at ${url}`);
}

test.beforeAll(async ({}, info) => {
  if (!process.env.E2E_CLUSTER || !jsEnabled(info)) return;
  test.setTimeout(120_000);
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  started.push(redis);
  database = `huddle_e2e_${uniqueName('c')}`;
  execFileSync('psql', [`${PG}/postgres`, '-qc', `create database ${database}`]);
  const secret = uniqueName('secret').padEnd(40, 'x');
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const node = spawn(process.env.HUDDLE_BIN ?? '../target/debug/huddle', [], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        HUDDLE_ADDR: `127.0.0.1:${port}`,
        HUDDLE_DATA_DIR: mkdtempSync(join(tmpdir(), 'huddle-e2e-node-')),
        HUDDLE_SITE_DIR: process.env.HUDDLE_SITE_DIR ?? '../target/site',
        DATABASE_URL: `${PG}/${database}`,
        HUDDLE_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        HUDDLE_JWT_SECRET: secret,
        HUDDLE_SIGNUPS_PER_HOUR: '100000',
        RUST_LOG: 'warn',
        ...(process.env.E2E_TURN_URL ? { HUDDLE_TURN_URLS: process.env.E2E_TURN_URL, HUDDLE_TURN_SECRET: process.env.E2E_TURN_SECRET! } : {}),
      },
    });
    started.push(node);
    nodes.push(`http://127.0.0.1:${port}`);
    await ready(`http://127.0.0.1:${port}/readyz`, `node ${i}`, node);
  }
});

test.afterAll(async () => {
  for (const child of started.reverse()) {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 12_000))]);
    }
  }
  if (database) execFileSync('psql', [`${PG}/postgres`, '-qc', `drop database if exists ${database} with (force)`]);
});

/** Someone signed up on one node, whose browser talks to that node only. */
async function personOn(browser: Browser, node: string, info: Parameters<typeof register>[1], name: string) {
  const context = await browser.newContext({ baseURL: node });
  const page = await context.newPage();
  await page.addInitScript(RECORD_PEERS);
  await register(page, info, uniqueName(name.toLowerCase().slice(0, 3)), name);
  return page;
}

test('people on two nodes chat live: the first message, typing, edits, presence and unread counts cross', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'needs the live socket');
  test.skip(!process.env.E2E_CLUSTER, 'needs PostgreSQL and redis-server: scripts/test.sh sets E2E_CLUSTER=1');
  test.setTimeout(60_000);
  const ada = await personOn(browser, nodes[0], info, 'Ada');
  const bob = await personOn(browser, nodes[1], info, 'Bob');
  const room = await createRoom(ada, info, 'Across');
  await live(ada);
  // Bob's tab opens the room on his node, which starts following it on Redis; Ada posts at
  // once, before anything else has crossed. (How soon such a post arrives is timed by the Rust
  // test `cluster::a_post_made_before_the_far_node_subscribed_to_the_room_arrives_at_once`.)
  await joinByLink(bob, info, await inviteLink(ada));
  expect(new URL(bob.url()).origin).toBe(nodes[1]);
  await live(bob);
  await send(ada, 'first, from node one');
  await expect(bob.getByTestId('message').filter({ hasText: 'first, from node one' })).toBeVisible();

  await ada.getByLabel('Message', { exact: true }).pressSequentially('so');
  await expect(bob.getByTestId('typing')).toHaveText('Ada is typing…');
  await ada.getByLabel('Message', { exact: true }).fill('');
  await send(bob, 'hello from node two');
  await expect(ada.getByTestId('message').filter({ hasText: 'hello from node two' })).toBeVisible();
  await expect(ada.getByTestId('message')).toHaveCount(2);

  const bobs = bob.getByTestId('message').filter({ hasText: 'hello from node two' });
  await bobs.getByRole('button', { name: 'Edit' }).click();
  await bobs.getByLabel('Edit message').fill('hello from the second node');
  await bobs.getByRole('button', { name: 'Save' }).click();
  await expect(ada.getByTestId('message').filter({ hasText: 'hello from the second node' })).toContainText('(edited)');

  // Presence is kept per node: Ada's node knows Bob is online on the other.
  await open(ada, new URL(room).pathname, info);
  await live(ada);
  const bobInList = ada.getByTestId('members').locator('li', { hasText: 'Bob' });
  await expect(bobInList.getByTestId('presence')).toHaveAttribute('data-online', 'true');

  // Bob on his chat home: Ada's next message counts as unread there, then is read.
  await open(bob, '/chat', info);
  await live(bob);
  const line = bob.getByTestId('rooms').locator('li', { hasText: 'Across' });
  await expect(line.getByTestId('unread')).toHaveCount(0);
  await send(ada, 'are you there?');
  await expect(line.getByTestId('unread')).toHaveText('1');
  await line.getByRole('link', { name: 'Across' }).click();
  await expect(bob.getByTestId('message').filter({ hasText: 'are you there?' })).toBeVisible();
  await expect(bob.getByTestId('message')).toHaveCount(3);
  await expect(line.getByTestId('unread')).toHaveCount(0);
  await ada.context().close();
  await bob.context().close();
});

test('a call between people on two nodes connects, and video and audio flow both ways', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'a call needs JavaScript');
  test.skip(!process.env.E2E_CLUSTER, 'needs PostgreSQL and redis-server: scripts/test.sh sets E2E_CLUSTER=1');
  test.setTimeout(90_000);
  const ada = await personOn(browser, nodes[0], info, 'Ada');
  const bob = await personOn(browser, nodes[1], info, 'Bob');

  const code = await startMeeting(ada, info);
  await joinCall(ada);
  await open(bob, `/meetings/${code}`, info);
  expect(new URL(bob.url()).origin).toBe(nodes[1]);
  await joinCall(bob);

  for (const page of [ada, bob]) {
    await expect(page.getByTestId('remote-tile')).toHaveCount(1);
    await expect.poll(async () => (await legs(page)).map((l) => l.state).join(','), { timeout: 20_000 }).toBe('connected');
    await expect.poll(async () => (await legs(page)).every((l) => l.frames > 0 && l.packets > 0), { timeout: 20_000 }).toBe(true);
  }
  // Bob's microphone off, seen on Ada's tile (a state frame carried from his node to the
  // call's node and back out to hers).
  await bob.getByTestId('toggle-mic').click();
  await expect(ada.getByTestId('remote-tile').first()).toHaveAttribute('data-mic', 'false');
  // Bob leaves from his node; Ada's page shows her alone.
  await bob.getByTestId('leave-call').click();
  await expect(ada.getByTestId('remote-tile')).toHaveCount(0);
});
