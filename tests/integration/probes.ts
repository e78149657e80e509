/** Small probes for identity tests: one HTTP call and one WebSocket subscription, with given headers. */
import WebSocket from 'ws';

export type CallResult = { status: number; data?: unknown; code?: string; message?: string };

/** A tRPC query over plain HTTP (GET), as a browser or curl would send it. */
export async function httpQuery(base: string, path: string, headers: Record<string, string> = {}): Promise<CallResult> {
  const response = await fetch(`${base}/trpc/${path}`, { headers });
  const body = (await response.json()) as { result?: { data: unknown }; error?: { message: string; data?: { code?: string } } };
  return { status: response.status, data: body.result?.data, code: body.error?.data?.code, message: body.error?.message };
}

/**
 * Opens a WebSocket with these headers and subscribes to `inbox.events`: 'started' when the
 * socket's identity is a signed-in user, else the error code it got.
 */
export async function socketProbe(wsUrl: string, headers: Record<string, string> = {}): Promise<string> {
  const ws = new WebSocket(wsUrl, { headers });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const answer = new Promise<string>((resolve) => {
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === 'PING' || text === 'PONG') return;
        const message = JSON.parse(text) as { id?: number; result?: { type: string }; error?: { data?: { code?: string } } };
        if (message.id !== 1) return;
        resolve(message.result?.type ?? message.error?.data?.code ?? 'unknown');
      });
    });
    ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'inbox.events', input: {} } }));
    return await answer;
  } finally {
    ws.terminate();
  }
}
