/**
 * Memory under the heaviest legal WebSocket traffic (issue 17): clients that send frames of as
 * many `conversation.history` calls as a frame may hold (each asking for the largest page of the
 * largest messages) and never read. The server runs in a child process (production mode) so its
 * RSS is its own; it must stay under a stated bound while another client keeps receiving every
 * message sent meanwhile. Counts and bounds only, no timings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_REQUEST_LIMITS } from '../src/server/http/ws-adapter.js';
import { LIMITS } from '../src/shared/limits.js';
import { waitFor } from './ws-helpers.js';

/** Bound on how much the server's RSS may grow over its idle figure while three such sockets attack. */
const RSS_GROWTH_BOUND_MB = 100;
const ATTACKING_SOCKETS = 3;
const FRAMES_PER_SOCKET = 8;

let child: ChildProcess;
let base = '';
beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/memory-server.ts'], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"([^"]+)"/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
});
afterAll(async () => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
});

const rssMB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;

async function call(path: string, input: unknown, cookie?: string, method: 'POST' | 'GET' = 'POST') {
  const response = await fetch(`${base}/trpc/${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as { result?: { data: unknown }; error?: unknown };
  return { status: response.status, body, cookie: response.headers.get('set-cookie')?.split(';')[0] };
}

async function signUp(username: string) {
  const { body, cookie } = await call('auth.register', { username, password: 'correct horse battery' });
  return { id: (body.result!.data as { id: number }).id, cookie: cookie! };
}

function socket(cookie: string) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/trpc`, { headers: { cookie } });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, opened };
}

it(`keeps the server's RSS within ${RSS_GROWTH_BOUND_MB} MB of idle while ${ATTACKING_SOCKETS} sockets send the heaviest legal frames and never read, and another client gets every message`, async () => {
  if (process.platform !== 'linux') throw new Error('this test reads /proc: Linux only');
  const [alice, bob] = [await signUp('alice'), await signUp('bob')];
  const { body } = await call('conversation.openDirect', { userId: bob.id }, alice.cookie);
  const conversationId = (body.result!.data as { id: number }).id;
  // The largest legal messages: multi-byte characters where the server accepts them.
  let content = '€'.repeat(LIMITS.contentMax);
  if ((await call('message.send', { conversationId, content, clientMessageId: 'probe' }, alice.cookie)).status !== 200) content = 'x'.repeat(LIMITS.contentMax);
  for (let i = 0; i < LIMITS.historyPageMax; i++) {
    expect((await call('message.send', { conversationId, content, clientMessageId: `seed-${i}` }, alice.cookie)).status).toBe(200);
  }

  // The reader: Alice's own socket on the conversation.
  const reader = socket(alice.cookie);
  let delivered = 0;
  reader.ws.on('message', (data) => {
    const text = data.toString();
    if (text.includes('"type":"message"')) delivered += text.split('"type":"message"').length - 1;
  });
  await reader.opened;
  reader.ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'conversation.events', input: { conversationId } } }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const idleMB = rssMB();

  // The attackers: frames of `maxPerFrame` history calls for the largest page, never read.
  const historyCall = (id: number) => ({ id, method: 'query', params: { path: 'conversation.history', input: { conversationId, limit: LIMITS.historyPageMax } } });
  const frame = JSON.stringify(Array.from({ length: DEFAULT_REQUEST_LIMITS.maxPerFrame }, (_, i) => historyCall(i)));
  expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(LIMITS.wsMaxPayloadBytes);
  const attackers = Array.from({ length: ATTACKING_SOCKETS }, () => socket(bob.cookie));
  await Promise.all(attackers.map((attacker) => attacker.opened));
  const closed = attackers.map((attacker) => new Promise<void>((resolve) => attacker.ws.once('close', () => resolve())));
  for (const attacker of attackers) {
    attacker.ws.pause(); // never reads
    for (let i = 0; i < FRAMES_PER_SOCKET; i++) attacker.ws.send(frame);
  }

  let peakMB = rssMB();
  const sampler = setInterval(() => (peakMB = Math.max(peakMB, rssMB())), 20);
  try {
    const sent = 40;
    for (let i = 0; i < sent; i++) {
      expect((await call('message.send', { conversationId, content: `during the attack ${i}`, clientMessageId: `live-${i}` }, alice.cookie)).status).toBe(200);
    }
    await waitFor(() => delivered === sent, 'every message delivered to the reader', 30_000);
    // The server closed every attacking socket (they owed more than the output bound).
    for (const attacker of attackers) attacker.ws.resume();
    await Promise.all(closed);
    peakMB = Math.max(peakMB, rssMB());
  } finally {
    clearInterval(sampler);
  }
  console.log(`server RSS: idle ${idleMB.toFixed(1)} MB, peak ${peakMB.toFixed(1)} MB under attack (bound: idle + ${RSS_GROWTH_BOUND_MB} MB)`);
  expect(peakMB - idleMB).toBeLessThan(RSS_GROWTH_BOUND_MB);
  reader.ws.close();
});
