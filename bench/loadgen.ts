/**
 * A load-generator worker thread: holds the connections of whole groups (so a group's sender and
 * its recipients share one clock), sends at a fixed rate or flat out, and checks every delivery:
 * each recipient must see keys 1, 2, 3… of its group exactly once. With several instances
 * (`urls`), each group's members alternate between them, so deliveries cross instances.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { ClosedError, createConnection, DIAG, type BenchUser, type Connection } from './clients.js';
import type { ServerKind } from './control.js';
import { newClientMessageId } from '../src/shared/ids.js';
import { TIMINGS } from '../src/shared/limits.js';

/** `urls`: the server's instances (one, or several on shared backends). */
export type LoadgenInit = { kind: ServerKind; urls: string[]; users: BenchUser[]; workerIndex: number };
export type ConnectResult = { ms: number; failures: number; firstError: string | null };
export type StepResult = {
  acked: number;
  errors: number;
  firstError: string | null;
  deliveries: number;
  latencies: Float64Array;
  /** The deliveries whose recipient is on another instance than the sender (none with one instance). */
  crossLatencies: Float64Array;
  enqueued: number;
};
export type CheckResult = { expected: number; missing: number; gaps: number; duplicates: number; behind: number };
export type StormResult = { reconnectMs: number; catchUpMs: number; resent: number; lostOnDrop: number; replayed: number };

const { kind, urls, users, workerIndex } = workerData as LoadgenInit;
const PAD = 'x'.repeat(100);

type Item = { cid: string; content: string };

class Recipient {
  last = 0;
  gaps = 0;
  duplicates = 0;
  connection: Connection;
  constructor(readonly user: BenchUser, readonly group: Group, readonly instance: number) {
    this.connection = createConnection(kind, urls[instance]!, user, (key, content, committedAt) => this.deliver(key, content, committedAt));
  }
  deliver(key: number, content: string, committedAt?: number) {
    stats.deliveries++;
    if (recording) {
      const now = performance.now();
      const sentAt = Number(content.slice(0, content.indexOf('|')));
      stats.latencies.push(now - sentAt);
      if (this.instance !== this.group.sender.instance) stats.crossLatencies.push(now - sentAt);
      if (DIAG) bySecond.push(now, now - sentAt);
      // BENCH_DIAG: where the time went, send → commit (server clock, ms) → arrival.
      if (committedAt !== undefined) diag.push(committedAt - (performance.timeOrigin + sentAt), performance.timeOrigin + now - committedAt);
    }
    if (key === this.last + 1) this.last = key;
    else if (key <= this.last) this.duplicates++;
    else {
      this.gaps += key - this.last - 1;
      this.last = key;
    }
    if (storm && storm.caughtUp && this.last >= (storm.target.get(this.group) ?? 0)) storm.caughtUp(this);
  }
}

class Group {
  members: Recipient[] = [];
  counter = 0;
  /** Highest key acknowledged to the sender: every member must reach it. */
  final = 0;
  inflight = 0;
  maxInflight = Infinity;
  backlog: Item[] = [];
  constructor(readonly groupId: number) {}
  get sender() {
    return this.members[0]!;
  }
  enqueue() {
    const counter = ++this.counter;
    stats.enqueued++;
    const head = `${performance.now().toFixed(3)}|${counter}|`;
    // What the web client sends.
    this.backlog.push({ cid: newClientMessageId(), content: head + PAD.slice(head.length) });
    this.pump();
  }
  pump() {
    const connection = this.sender.connection;
    while (this.backlog.length > 0 && this.inflight < this.maxInflight && connection.open) {
      const item = this.backlog.shift()!;
      this.inflight++;
      connection.send(item.content, item.cid).then(
        (seq) => {
          this.inflight--;
          stats.acked++;
          this.final = Math.max(this.final, seq ?? Number(item.content.split('|')[1]));
          onAck(this);
        },
        (error: unknown) => {
          this.inflight--;
          if (error instanceof ClosedError && kind === 'trpc') {
            // Unknown outcome: retry with the same clientMessageId once reconnected (idempotent).
            this.backlog.unshift(item);
            if (storm) storm.resent++;
          } else if (error instanceof ClosedError) {
            if (storm) storm.lostOnDrop++;
          } else {
            stats.errors++;
            stats.firstError ??= String((error as Error).message ?? error);
            onAck(this);
          }
        },
      );
    }
  }
}

const groups = new Map<number, Group>();
const recipients: Recipient[] = [];
for (const user of users) {
  let group = groups.get(user.groupId);
  if (!group) groups.set(user.groupId, (group = new Group(user.groupId)));
  // Member j of group g on instance (g + j) mod n: members alternate, and so do the senders (member 0).
  const recipient = new Recipient(user, group, (user.groupId + group.members.length) % urls.length);
  group.members.push(recipient);
  recipients.push(recipient);
}
const groupList = [...groups.values()];

let stats = freshStats();
let recording = false;
const diag: number[] = [];
const bySecond: number[] = [];
let flatOut = false;
let storm: {
  target: Map<Group, number>;
  pending: Set<Recipient>;
  caughtUp: ((recipient: Recipient) => void) | null;
  resent: number;
  lostOnDrop: number;
} | null = null;

function freshStats() {
  return { acked: 0, errors: 0, firstError: null as string | null, deliveries: 0, latencies: [] as number[], crossLatencies: [] as number[], enqueued: 0 };
}

function onAck(group: Group) {
  if (flatOut) group.enqueue();
  else group.pump();
}

async function connectAll(extra: readonly string[], concurrency: number, list = recipients): Promise<ConnectResult> {
  const started = performance.now();
  let failures = 0;
  let firstError: string | null = null;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, list.length) }, async () => {
      while (next < list.length) {
        const recipient = list[next++]!;
        try {
          await recipient.connection.connect(extra);
          recipient.group.pump();
        } catch (error) {
          failures++;
          firstError ??= String((error as Error).message ?? error);
        }
      }
    }),
  );
  return { ms: performance.now() - started, failures, firstError };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The web client's keepalive (DEFAULT_KEEPALIVE in src/client/client.ts): a PING after half the
// server's ping interval without a frame from it. One sweep for every connection of this thread.
const KEEPALIVE_MS = TIMINGS.keepAlivePingMs / 2;
setInterval(() => {
  const now = performance.now();
  for (const recipient of recipients) recipient.connection.keepAlive?.(now, KEEPALIVE_MS);
}, 1000).unref();

/**
 * Open loop at `rate` messages a second (round robin over the groups), or closed loop with
 * `window` per group. The first `warmupMs` run at the same load unrecorded, so a step measures its
 * own steady state rather than the way out of the previous step (or JIT warm-up on the first);
 * every message, warm-up included, is still checked for exactly-once delivery by `drain`.
 */
async function run({ rate, durationMs, window, warmupMs = 0 }: { rate: number | null; durationMs: number; window: number; warmupMs?: number }): Promise<StepResult> {
  stats = freshStats();
  recording = warmupMs <= 0;
  const started = performance.now();
  let recordedFrom = started;
  const startRecording = () => {
    stats = freshStats();
    recording = true;
    recordedFrom = performance.now();
  };
  if (rate === null) {
    flatOut = true;
    for (const group of groupList) {
      group.maxInflight = window;
      for (let i = 0; i < window; i++) group.enqueue();
    }
    if (!recording) {
      await sleep(warmupMs);
      startRecording();
    }
    await sleep(durationMs);
    flatOut = false;
  } else {
    for (const group of groupList) group.maxInflight = Infinity;
    let sent = 0;
    let turn = 0;
    while (!recording || performance.now() - recordedFrom < durationMs) {
      const due = Math.floor((rate * (performance.now() - started)) / 1000) - sent;
      for (let i = 0; i < due; i++) groupList[turn++ % groupList.length]!.enqueue();
      sent += Math.max(0, due);
      if (!recording && performance.now() - started >= warmupMs) startRecording();
      await sleep(5);
    }
  }
  const snapshot = { ...stats, latencies: Float64Array.from(stats.latencies), crossLatencies: Float64Array.from(stats.crossLatencies) };
  recording = false;
  if (bySecond.length > 0) {
    // BENCH_DIAG: p99 of each second of the recorded window.
    const seconds = new Map<number, number[]>();
    for (let i = 0; i < bySecond.length; i += 2) {
      const second = Math.floor((bySecond[i]! - recordedFrom) / 1000);
      let list = seconds.get(second);
      if (!list) seconds.set(second, (list = []));
      list.push(bySecond[i + 1]!);
    }
    const p99 = (list: number[]) => list.sort((a, b) => a - b)[Math.floor(list.length * 0.99)]!.toFixed(0);
    process.stderr.write(`loadgen ${workerIndex}: p99 by second ${[...seconds].map(([second, list]) => `${second}s ${p99(list)}`).join(', ')} ms\n`);
    bySecond.length = 0;
  }
  if (diag.length > 0) {
    const split = (offset: number) => diag.filter((_, i) => i % 2 === offset).sort((a, b) => a - b);
    const at = (values: number[], q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))]!.toFixed(1);
    const [toCommit, fromCommit] = [split(0), split(1)];
    process.stderr.write(`loadgen ${workerIndex}: send→commit p50 ${at(toCommit, 0.5)} p99 ${at(toCommit, 0.99)} max ${at(toCommit, 1)}; commit→arrival p50 ${at(fromCommit, 0.5)} p99 ${at(fromCommit, 0.99)} max ${at(fromCommit, 1)} ms\n`);
    diag.length = 0;
  }
  return snapshot;
}

/** Waits until nothing is in flight and every member reached its group's final key. */
async function drain(timeoutMs: number): Promise<CheckResult> {
  const deadline = performance.now() + timeoutMs;
  const settled = () =>
    groupList.every((g) => g.inflight === 0 && g.backlog.length === 0) && recipients.every((r) => r.last >= r.group.final);
  while (!settled() && performance.now() < deadline) await sleep(20);
  return check();
}

function check(): CheckResult {
  let expected = 0;
  let missing = 0;
  let gaps = 0;
  let duplicates = 0;
  let behind = 0;
  for (const recipient of recipients) {
    expected += recipient.group.final;
    missing += Math.max(0, recipient.group.final - recipient.last) + recipient.gaps;
    gaps += recipient.gaps;
    duplicates += recipient.duplicates;
    if (recipient.last < recipient.group.final) behind++;
  }
  return { expected, missing, gaps, duplicates, behind };
}

/** Drops every socket at once while messages flow, then reconnects all (resuming with lastEventId), each with the subscriptions it held. */
async function stormRun({ rate, beforeMs, afterMs, extra = [] }: { rate: number; beforeMs: number; afterMs: number; extra?: string[] }): Promise<StormResult & StepResult> {
  const flowing = run({ rate, durationMs: beforeMs + afterMs, window: 0 });
  await sleep(beforeMs);
  const target = new Map(groupList.map((g) => [g, g.final] as const));
  let done!: () => void;
  const allCaughtUp = new Promise<void>((resolve) => (done = resolve));
  const pending = new Set(recipients);
  storm = { target, pending, caughtUp: null, resent: 0, lostOnDrop: 0 };
  const current = storm;
  const dropped = performance.now();
  for (const recipient of recipients) recipient.connection.drop();
  const deliveredBefore = stats.deliveries;
  const markCaughtUp = (r: Recipient) => {
    if (!current.pending.delete(r)) return;
    if (current.pending.size === 0) done();
  };
  const reconnect = connectAll(extra, 1000);
  current.caughtUp = (r) => {
    if (r.connection.open) markCaughtUp(r);
  };
  const connected = await reconnect;
  const reconnectMs = performance.now() - dropped;
  for (const r of recipients) if (r.last >= (target.get(r.group) ?? 0) && r.connection.open) markCaughtUp(r);
  for (const g of groupList) g.pump();
  await Promise.race([allCaughtUp, sleep(30_000)]);
  const catchUpMs = pending.size === 0 ? performance.now() - dropped : Number.NaN;
  const replayed = stats.deliveries - deliveredBefore;
  current.caughtUp = null;
  const step = await flowing;
  if (connected.failures > 0) step.firstError ??= connected.firstError;
  return { ...step, reconnectMs, catchUpMs, resent: current.resent, lostOnDrop: current.lostOnDrop, replayed };
}

const commands: Record<string, (args: never) => unknown> = {
  connect: ({ extra, concurrency, from = 0, to = recipients.length }: { extra: string[]; concurrency: number; from?: number; to?: number }) =>
    connectAll(extra, concurrency, recipients.slice(from, to)),
  size: () => recipients.length,
  run,
  drain: ({ timeoutMs }: { timeoutMs: number }) => drain(timeoutMs),
  storm: stormRun,
  cpu: () => process.cpuUsage(),
  async close() {
    storm = null;
    for (const recipient of recipients) {
      recipient.connection.onClose = null;
      recipient.connection.drop();
    }
    await sleep(50);
    return true;
  },
};

parentPort!.on('message', ({ id, cmd, args }: { id: number; cmd: string; args: never }) => {
  Promise.resolve()
    .then(() => commands[cmd]!(args))
    .then(
      (result) => {
        const transfer = result && typeof result === 'object' && 'latencies' in result ? [(result as StepResult).latencies.buffer, (result as StepResult).crossLatencies.buffer] : [];
        parentPort!.postMessage({ id, result }, transfer as ArrayBuffer[]);
      },
      (error: unknown) => parentPort!.postMessage({ id, error: String((error as Error)?.stack ?? error) }),
    );
});
