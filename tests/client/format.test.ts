import { describe, expect, it } from 'vitest';
import { chatIdFromPath, chatPath } from '../../src/client/app/route.js';
import { dayLabel, LINK_ATTRIBUTES, linkify, plural, safeHref, startsNewDay, timeAgo } from '../../src/client/logic/format.js';
import { withCloseTimeout } from '../../src/client/logic/websocket-watchdog.js';

describe('plural', () => {
  it('says 1 member, 0 and 2 members', () => {
    expect(plural(1, 'member', 'members')).toBe('1 member');
    expect(plural(0, 'member', 'members')).toBe('0 members');
    expect(plural(2, 'message', 'messages')).toBe('2 messages');
  });
});

describe('dates', () => {
  const now = new Date(2026, 10, 26, 15, 0);
  it('labels today, yesterday, older days and other years', () => {
    expect(dayLabel(new Date(2026, 10, 26, 0, 5).toISOString(), now)).toBe('Today');
    expect(dayLabel(new Date(2026, 10, 25, 23, 59).toISOString(), now)).toBe('Yesterday');
    expect(dayLabel(new Date(2026, 10, 3).toISOString(), now, 'en-GB')).toBe('Tue 3 Nov');
    expect(dayLabel(new Date(2025, 0, 2).toISOString(), now, 'en-GB')).toMatch(/2025/);
  });
  it('puts a separator before the first message and at each new local day', () => {
    const a = new Date(2026, 10, 25, 23, 0).toISOString();
    const b = new Date(2026, 10, 25, 23, 30).toISOString();
    const c = new Date(2026, 10, 26, 0, 10).toISOString();
    expect(startsNewDay(null, a)).toBe(true);
    expect(startsNewDay(a, b)).toBe(false);
    expect(startsNewDay(b, c)).toBe(true);
  });
  it('says how long ago someone was seen', () => {
    expect(timeAgo(new Date(now.getTime() - 20_000).toISOString(), now)).toBe('just now');
    expect(timeAgo(new Date(now.getTime() - 5 * 60_000).toISOString(), now)).toBe('5 min ago');
    expect(timeAgo(new Date(now.getTime() - 3 * 3600_000).toISOString(), now)).toBe('3 h ago');
    expect(timeAgo(new Date(2026, 10, 3).toISOString(), now, 'en-GB')).toBe('on Tue 3 Nov');
  });
});

describe('links', () => {
  it('links http(s) URLs only, leaving trailing punctuation as text', () => {
    expect(linkify('see https://example.com/a?b=1, then')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: ', then' },
    ]);
    expect(linkify('(http://x.org).')).toEqual([
      { kind: 'text', text: '(' },
      { kind: 'link', text: 'http://x.org', href: 'http://x.org/' },
      { kind: 'text', text: ').' },
    ]);
  });
  it('never makes javascript:, data: or other schemes into links', () => {
    for (const text of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>1</script>', 'vbscript:x', 'file:///etc/passwd']) {
      expect(linkify(text).every((part) => part.kind === 'text')).toBe(true);
    }
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('https://')).toBeNull();
    // A URL that only looks like it starts with http(s) inside another scheme stays text.
    expect(linkify('javascript:https://example.com').filter((part) => part.kind === 'link')).toEqual([
      { kind: 'link', text: 'https://example.com', href: 'https://example.com/' },
    ]);
    expect(LINK_ATTRIBUTES).toEqual({ target: '_blank', rel: 'noopener noreferrer' });
  });
});

describe('chat route', () => {
  it('maps /c/<id> both ways and ignores anything else', () => {
    expect(chatIdFromPath('/c/12')).toBe(12);
    expect(chatIdFromPath('/c/12/')).toBe(12);
    expect(chatIdFromPath('/c/abc')).toBeNull();
    expect(chatIdFromPath('/')).toBeNull();
    expect(chatPath(7)).toBe('/c/7');
    expect(chatPath(null)).toBe('/');
  });
});

describe('WebSocket close watchdog', () => {
  /** Stands in for a browser socket whose closing handshake never completes (network gone). */
  class DeadSocket extends EventTarget {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    readyState = 1;
    constructor(readonly url: string) {
      super();
    }
    close() {
      this.readyState = 2;
    }
  }

  it('dispatches close once when the handshake hangs, and swallows what the dead socket emits later', async () => {
    const Watched = withCloseTimeout(DeadSocket as unknown as typeof WebSocket, 20);
    const socket = new Watched('ws://x');
    const seen: string[] = [];
    socket.addEventListener('close', () => seen.push('close'));
    socket.addEventListener('message', () => seen.push('message'));
    socket.close();
    expect(seen).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(seen).toEqual(['close']);
    socket.dispatchEvent(new Event('close'));
    socket.dispatchEvent(new Event('message'));
    expect(seen).toEqual(['close']);
  });

  it('leaves a socket that closes normally alone', async () => {
    const Watched = withCloseTimeout(DeadSocket as unknown as typeof WebSocket, 20);
    const socket = new Watched('ws://x') as unknown as DeadSocket;
    const seen: string[] = [];
    socket.addEventListener('close', () => seen.push('close'));
    socket.close();
    socket.readyState = 3;
    socket.dispatchEvent(new Event('close'));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(seen).toEqual(['close']);
  });
});
