import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { RECORD_PEERS, joinCall, legs, startMeeting } from './call-helpers';
import { createRoom, inviteLink, joinByLink, live, person, send } from './chat-helpers';
import { jsEnabled, open } from './helpers';

// The calls here run one after another in one worker: two of them at once (five browsers
// sending video) starve a two-core machine and every wait runs out.
test.describe.configure({ mode: 'default' });

test('three people meet: every leg connects, video and audio flow and keep flowing', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'a call needs JavaScript');
  // Three browsers sending video to each other keep both cores of a CI machine busy: every
  // wait below allows for that, none gives up on what it checks.
  test.setTimeout(150_000);
  const people = [await person(browser, info, 'Ada'), await person(browser, info, 'Bob'), await person(browser, info, 'Cyd')];
  // Signed up before the call loads the machine; joins at the end.
  const dan = await person(browser, info, 'Dan');
  for (const p of people) await p.page.addInitScript(RECORD_PEERS);
  const [ada, bob, cyd] = people.map((p) => p.page);

  const code = await startMeeting(ada, info);
  // Before joining: the devices to pick from, and the microphone's level moving.
  await expect.poll(() => ada.getByTestId('pick-microphone').locator('option').count()).toBeGreaterThan(0);
  await expect.poll(() => ada.getByTestId('pick-camera').locator('option').count()).toBeGreaterThan(0);
  // Chromium lets a page's audio start after a click or key press on it; when the meeting page
  // was loaded rather than reached by a click in the app (a start clicked before hydration),
  // the meter waits for one, as it would for a person.
  await ada.getByRole('heading', { level: 1 }).click();
  await expect.poll(async () => Number(await ada.getByTestId('mic-level').getAttribute('value')), { timeout: 10_000 }).toBeGreaterThan(0);
  await joinCall(ada);
  // Said in the meeting's chat before anyone else came.
  await send(ada, 'agenda: the budget');
  await expect(ada.getByTestId('meeting-chat-panel').getByTestId('message').filter({ hasText: 'agenda: the budget' })).toBeVisible();

  // Bob types the code; Cyd opens the link.
  await open(bob, '/meetings', info);
  await bob.getByLabel('Join with a code or link').fill(code.toUpperCase());
  await bob.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob).toHaveURL(new RegExp(`/meetings/${code}$`));
  await expect(bob.locator('main')).toHaveAttribute('data-hydrated', 'true');
  await joinCall(bob);
  await open(cyd, `/meetings/${code}`, info);
  await joinCall(cyd);
  // The late joiner reads what was said before, and what is said now arrives live.
  await expect(cyd.getByTestId('meeting-chat-panel').getByTestId('message').filter({ hasText: 'agenda: the budget' })).toBeVisible();
  await send(bob, 'hello from bob');
  await expect(cyd.getByTestId('meeting-chat-panel').getByTestId('message').filter({ hasText: 'hello from bob' })).toBeVisible();

  for (const page of [ada, bob, cyd]) {
    await expect(page.getByTestId('remote-tile')).toHaveCount(2);
    await expect.poll(async () => (await legs(page)).map((l) => l.state).join(','), { timeout: 20_000 }).toBe('connected,connected');
    await expect.poll(async () => (await legs(page)).every((l) => l.frames > 0 && l.packets > 0), { timeout: 20_000 }).toBe(true);
  }
  // Still flowing afterwards, on every leg: more video frames and audio packets keep arriving.
  const before = await Promise.all([ada, bob, cyd].map(legs));
  await ada.waitForTimeout(5_000);
  await expect.poll(async () => {
    const after = await Promise.all([ada, bob, cyd].map(legs));
    return after.flatMap((page, i) => page.map((leg, j) =>
      leg.frames - before[i][j].frames > 5 && leg.packets - before[i][j].packets > 50 ? 'flowing' : `leg ${i}.${j} stalled`));
  }, { timeout: 20_000 }).toEqual(Array(6).fill('flowing'));

  // Each tile says how its connection is doing.
  await expect(ada.getByTestId('remote-tile').first().getByTestId('quality')).toHaveAttribute('data-quality', /good|fair|poor/);

  // A fourth person is past the limit of 3 and told so.
  await dan.page.goto(`/meetings/${code}`);
  await expect(dan.page.locator('main')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await dan.page.getByTestId('join-call').click();
  await expect(dan.page.getByTestId('call-error')).toContainText('at most 3');
  await expect(dan.page.getByTestId('call')).toHaveAttribute('data-phase', 'preview');
  await dan.close();

  // Ada shares her screen: it replaces her camera on every leg, the others see it large and
  // keep decoding video from her.
  const beforeShare = await Promise.all([bob, cyd].map(legs));
  await ada.getByTestId('toggle-screen').click();
  await expect(ada.getByTestId('toggle-screen')).toHaveText('Stop sharing');
  for (const [i, page] of [bob, cyd].entries()) {
    await expect(page.getByTestId('remote-tile').filter({ hasText: 'Ada' })).toHaveAttribute('data-screen', 'true');
    await expect.poll(async () => (await legs(page)).reduce((n, l) => n + l.frames, 0), { timeout: 10_000 })
      .toBeGreaterThan(beforeShare[i].reduce((n, l) => n + l.frames, 0) + 20);
  }
  await ada.getByTestId('toggle-screen').click();
  await expect(bob.getByTestId('remote-tile').filter({ hasText: 'Ada' })).toHaveAttribute('data-screen', 'false');

  // Bob mutes and turns his camera off: the others see it on his tile.
  await bob.getByTestId('toggle-mic').click();
  await bob.getByTestId('toggle-camera').click();
  for (const page of [ada, cyd]) {
    const tile = page.getByTestId('remote-tile').filter({ hasText: 'Bob' });
    await expect(tile).toHaveAttribute('data-mic', 'false');
    await expect(tile).toHaveAttribute('data-camera', 'false');
  }
  // Cyd picks a microphone in the call: the others keep hearing Cyd.
  const mics = await cyd.getByTestId('pick-microphone').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  await cyd.getByTestId('pick-microphone').selectOption(mics[mics.length - 1]);
  const heard = await legs(ada);
  await expect.poll(async () => (await legs(ada)).reduce((n, l) => n + l.packets, 0), { timeout: 10_000 })
    .toBeGreaterThan(heard.reduce((n, l) => n + l.packets, 0) + 100);
  // Cyd raises a hand; the host mutes Cyd.
  await cyd.getByTestId('toggle-hand').click();
  await expect(ada.getByTestId('hands')).toHaveText('Raised hands: Cyd');
  await ada.getByTestId('remote-tile').filter({ hasText: 'Cyd' }).getByTestId('host-mute').click();
  await expect(cyd.getByTestId('toggle-mic')).toHaveText('Unmute');

  // A network change on one leg: ICE restarts and media still flows.
  const restarted = await legs(bob);
  await bob.evaluate(() => (window as any).__pcs.filter((pc: RTCPeerConnection) => pc.connectionState !== 'closed')[0].restartIce());
  await expect.poll(async () => {
    const now = await legs(bob);
    return now[0].state === 'connected' && now[0].frames > restarted[0].frames + 10;
  }, { timeout: 20_000 }).toBe(true);

  // Cyd leaves; the others see two tiles become one.
  await cyd.getByTestId('leave-call').click();
  await expect(cyd.getByTestId('call-out')).toHaveText('You left the call.');
  await expect(ada.getByTestId('remote-tile')).toHaveCount(1);
  await bob.getByTestId('leave-call').click();
  await ada.getByTestId('leave-call').click();

  // History lists the meeting with every attendee.
  await open(bob, '/meetings', info);
  const record = bob.getByTestId('meeting-history').locator('li').first();
  await expect(record).toContainText(`Meeting ${code}`);
  for (const name of ['Ada', 'Bob', 'Cyd']) await expect(record).toContainText(name);
  for (const p of people) await p.close();
});

test('meetings without JavaScript: start, join by code, the page says a call needs JavaScript', async ({ browser }, info) => {
  test.skip(jsEnabled(info), 'the no-JS path');
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  await open(ada.page, '/meetings', info);
  await expect(ada.page.getByText('Meetings you join are listed here')).toBeVisible();
  await ada.page.getByRole('button', { name: 'Start a meeting' }).click();
  await expect(ada.page).toHaveURL(/\/meetings\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  await expect(ada.page.getByTestId('needs-js')).toBeVisible();
  const code = ada.page.url().split('/').pop()!;
  await expect(ada.page.getByLabel('Link to share')).toHaveValue(new RegExp(`/meetings/${code}$`));

  await open(bob.page, '/meetings', info);
  await bob.page.getByLabel('Join with a code or link').fill('zzz-zzzz-zzz');
  await bob.page.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob.page.getByText('There is no meeting with that code.')).toBeVisible();
  await bob.page.getByLabel('Join with a code or link').fill(code.replaceAll('-', ''));
  await bob.page.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob.page).toHaveURL(new RegExp(`/meetings/${code}$`));
  await expect(bob.page.getByTestId('needs-js')).toBeVisible();
  // The call needs JavaScript, its chat does not: Bob joins the chat and posts.
  await bob.page.getByRole('button', { name: "Join the meeting's chat" }).click();
  await expect(bob.page).toHaveURL(new RegExp(`/meetings/${code}$`));
  await bob.page.getByLabel('Message', { exact: true }).fill('no script, still here');
  await bob.page.getByRole('button', { name: 'Send' }).click();
  await expect(bob.page).toHaveURL(new RegExp(`/meetings/${code}$`));
  await expect(bob.page.getByTestId('meeting-chat-panel').getByTestId('message').filter({ hasText: 'no script, still here' })).toBeVisible();
  await open(ada.page, `/meetings/${code}`, info);
  await expect(ada.page.getByTestId('meeting-chat-panel').getByTestId('message').filter({ hasText: 'no script, still here' })).toBeVisible();
  // A made-up code in the URL is a plain "not found".
  await open(bob.page, '/meetings/not-a-code', info);
  await expect(bob.page.getByRole('heading', { name: 'Meeting not found' })).toBeVisible();
  await ada.close();
  await bob.close();
});

test('a call in a room: a member not in it sees it on, joins from the room, then sees how it went', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'a call needs JavaScript');
  test.setTimeout(60_000);
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  const link = await createRoom(ada.page, info, 'Standup');
  const invite = await inviteLink(ada.page);
  await joinByLink(bob.page, info, invite);
  await live(bob.page);
  await expect(bob.page.getByTestId('call-bar')).toHaveCount(0);

  await ada.page.getByTestId('room-call').getByRole('button', { name: /Call/ }).click();
  await expect(ada.page).toHaveURL(/\/meetings\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  await expect(ada.page.getByRole('heading', { level: 1, name: 'Call in Standup' })).toBeVisible();
  await expect(ada.page.locator('main')).toHaveAttribute('data-hydrated', 'true');
  await joinCall(ada.page);

  // Bob, in the room but not in the call: the banner, who is in it, and the mark in the list.
  await expect(bob.page.getByTestId('call-bar')).toContainText('Call on · Ada');
  await expect(bob.page.getByTestId('rooms').locator('li', { hasText: 'Standup' }).getByTestId('call-mark')).toBeVisible();
  await bob.page.getByTestId('join-room-call').click();
  await expect(bob.page.getByRole('heading', { level: 1, name: 'Call in Standup' })).toBeVisible();
  await expect(bob.page.locator('main')).toHaveAttribute('data-hydrated', 'true');
  await joinCall(bob.page);
  await expect(ada.page.getByTestId('remote-tile')).toHaveCount(1);
  await expect(ada.page.getByTestId('remote-tile')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  // Bob reloads: he is back in the call by himself, and Ada connects to him afresh.
  await bob.page.reload();
  await expect(bob.page.getByTestId('call')).toHaveAttribute('data-phase', 'in-call');
  await expect(bob.page.getByTestId('remote-tile')).toHaveCount(1);
  await expect(ada.page.getByTestId('remote-tile')).toHaveCount(1);
  await expect(ada.page.getByTestId('remote-tile')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await expect(bob.page.getByTestId('remote-tile')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  // The call's chat is the room's.
  await send(bob.page, 'said in the call');
  await bob.page.getByTestId('leave-call').click();
  await ada.page.getByTestId('leave-call').click();

  await open(bob.page, new URL(link).pathname, info);
  await expect(bob.page.getByTestId('call-ended')).toContainText('Call ended');
  await expect(bob.page.getByTestId('call-ended')).toContainText('Ada, Bob');
  await expect(bob.page.getByTestId('message').filter({ hasText: 'said in the call' })).toBeVisible();
  await ada.close();
  await bob.close();
});

test('through TURN: with only relayed candidates allowed, the call connects through coturn', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'a call needs JavaScript');
  test.skip(!process.env.E2E_TURN_URL, 'needs the coturn that scripts/test.sh starts');
  test.setTimeout(90_000);
  // Each browser may use nothing but the TURN server's relayed addresses.
  const RELAY_ONLY = () => {
    const Native = window.RTCPeerConnection;
    (window as any).__pcs = [];
    (window as any).RTCPeerConnection = function (config?: RTCConfiguration) {
      const pc = new Native({ ...config, iceTransportPolicy: 'relay' });
      (window as any).__pcs.push(pc);
      return pc;
    } as any;
    (window as any).RTCPeerConnection.prototype = Native.prototype;
  };
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  for (const p of [ada, bob]) await p.page.addInitScript(RELAY_ONLY);
  const code = await startMeeting(ada.page, info);
  await joinCall(ada.page);
  await open(bob.page, `/meetings/${code}`, info);
  await joinCall(bob.page);
  for (const page of [ada.page, bob.page]) {
    await expect.poll(async () => (await legs(page)).map((l) => `${l.state}:${l.frames > 0}`).join(','), { timeout: 20_000 }).toBe('connected:true');
    const types = await page.evaluate(async () => {
      const pc: RTCPeerConnection = (window as any).__pcs.find((p: RTCPeerConnection) => p.connectionState === 'connected');
      const stats = await pc.getStats();
      const found: string[] = [];
      stats.forEach((s: any) => {
        if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) {
          found.push(stats.get(s.localCandidateId)?.candidateType, stats.get(s.remoteCandidateId)?.candidateType);
        }
      });
      return found;
    });
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['relay']));
  }
  await ada.close();
  await bob.close();
});

test('a blocked camera and microphone: the page says so, and the user joins to listen and watch', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'a call needs JavaScript');
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  for (const p of [ada, bob]) await p.page.addInitScript(RECORD_PEERS);
  // Bob's browser refuses the devices, as when the user clicked "Block".
  await bob.page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  const code = await startMeeting(ada.page, info);
  await joinCall(ada.page);
  await open(bob.page, `/meetings/${code}`, info);
  await expect(bob.page.getByText('Camera and microphone are blocked for this site. You can still join to listen and watch.')).toBeVisible();
  await joinCall(bob.page);
  // Bob receives Ada's video and audio; Ada sees Bob muted with his camera off.
  await expect.poll(async () => (await legs(bob.page)).every((l) => l.state === 'connected' && l.frames > 0 && l.packets > 0), { timeout: 20_000 }).toBe(true);
  const tile = ada.page.getByTestId('remote-tile');
  await expect(tile).toHaveAttribute('data-mic', 'false');
  await expect(tile).toHaveAttribute('data-camera', 'false');
  await ada.close();
  await bob.close();
});

test('a dropped socket keeps the seat: media keeps flowing, and the seat is taken back on reconnecting', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'a call needs JavaScript');
  test.setTimeout(60_000);
  const ada = await person(browser, info, 'Ada');
  const bob = await person(browser, info, 'Bob');
  for (const p of [ada, bob]) await p.page.addInitScript(RECORD_PEERS);
  // Bob's socket goes through the test, which can cut it like a dropped network.
  const sockets: import('@playwright/test').WebSocketRoute[] = [];
  await bob.page.routeWebSocket(/\/ws/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  const code = await startMeeting(ada.page, info);
  await joinCall(ada.page);
  await open(bob.page, `/meetings/${code}`, info);
  await joinCall(bob.page);
  const tile = ada.page.getByTestId('remote-tile');
  await expect(tile).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  const seat = await tile.getAttribute('data-seat');

  for (const ws of sockets) await ws.close({ code: 4000, reason: 'network down' });
  // The peer connection does not need the socket: Ada keeps decoding Bob's video meanwhile.
  const before = (await legs(ada.page))[0].frames;
  await expect.poll(async () => (await legs(ada.page))[0].frames, { timeout: 10_000 }).toBeGreaterThan(before + 20);
  // Bob's tab reconnects and takes the same seat back: nobody was told he left.
  await expect.poll(() => sockets.length, { timeout: 20_000 }).toBeGreaterThan(1);
  await expect(bob.page.getByTestId('call')).toHaveAttribute('data-phase', 'in-call');
  await bob.page.getByTestId('toggle-hand').click();
  await expect(ada.page.getByTestId('hands')).toHaveText('Raised hands: Bob');
  await expect(tile).toHaveAttribute('data-seat', seat!);
  await expect(tile).toHaveAttribute('data-connection', 'connected');
  await ada.close();
  await bob.close();
});
