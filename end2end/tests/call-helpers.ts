import { expect, type Page, type TestInfo } from '@playwright/test';
import { jsEnabled, open } from './helpers';

// Every RTCPeerConnection the page makes, so the test can read its state and stats.
export const RECORD_PEERS = () => {
  const Native = window.RTCPeerConnection;
  (window as any).__pcs = [];
  (window as any).RTCPeerConnection = function (config?: RTCConfiguration) {
    const pc = new Native(config);
    (window as any).__pcs.push(pc);
    return pc;
  } as any;
  (window as any).RTCPeerConnection.prototype = Native.prototype;
};

/** Per open peer connection: its state and what it has received so far. */
export async function legs(page: Page) {
  return page.evaluate(async () => {
    const pcs: RTCPeerConnection[] = (window as any).__pcs.filter((pc: RTCPeerConnection) => pc.connectionState !== 'closed');
    return Promise.all(pcs.map(async (pc) => {
      let frames = 0, packets = 0;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived ?? 0;
      });
      return { state: pc.connectionState, frames, packets };
    }));
  });
}

/** Starts a meeting from /meetings; returns its code once its page is live. */
export async function startMeeting(page: Page, info: TestInfo): Promise<string> {
  await open(page, '/meetings', info);
  await page.getByRole('button', { name: 'Start a meeting' }).click();
  await expect(page).toHaveURL(/\/meetings\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  if (jsEnabled(info)) await expect(page.locator('main')).toHaveAttribute('data-hydrated', 'true');
  return page.url().split('/').pop()!;
}

export async function joinCall(page: Page) {
  await page.getByTestId('join-call').click();
  await expect(page.getByTestId('call')).toHaveAttribute('data-phase', 'in-call');
}
