/**
 * The WebSocket connections open on this instance, by user and by session. Connections are
 * local by nature; what other instances need to know (presence) is derived from the events
 * this registry emits.
 */
export type ConnectionListener = (userId: number) => void;

type Connection = { userId: number; sessionId: string; expiresAt: number; close: (reason: string) => void };

export function createConnectionRegistry() {
  const byUser = new Map<number, Set<Connection>>();
  const bySession = new Map<string, Set<Connection>>();
  const firstListeners: ConnectionListener[] = [];
  const lastListeners: ConnectionListener[] = [];

  function addTo<K>(map: Map<K, Set<Connection>>, key: K, connection: Connection) {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(connection);
    return set.size;
  }
  function removeFrom<K>(map: Map<K, Set<Connection>>, key: K, connection: Connection) {
    const set = map.get(key);
    if (!set?.delete(connection)) return -1;
    if (set.size === 0) map.delete(key);
    return set.size;
  }

  return {
    /**
     * Registers an authenticated connection until its session expires (epoch ms); call the
     * returned function when it closes. `close` is how the registry ends it (logout, expiry).
     */
    add(userId: number, sessionId: string, close: (reason: string) => void, expiresAt = Number.POSITIVE_INFINITY): () => void {
      const connection: Connection = { userId, sessionId, expiresAt, close };
      addTo(bySession, sessionId, connection);
      if (addTo(byUser, userId, connection) === 1) for (const listener of firstListeners) listener(userId);
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        removeFrom(bySession, sessionId, connection);
        if (removeFrom(byUser, userId, connection) === 0) for (const listener of lastListeners) listener(userId);
      };
    },

    /** Closes every socket of a session (logout): a signed-out tab must stop receiving. */
    closeSession(sessionId: string): void {
      for (const connection of [...(bySession.get(sessionId) ?? [])]) connection.close('signed out');
    },

    /** Closes every socket of a user (account deleted). */
    closeUser(userId: number, reason: string): void {
      for (const connection of [...(byUser.get(userId) ?? [])]) connection.close(reason);
    },

    /**
     * Closes the sockets whose session has expired by `now`: a socket is authenticated when it
     * opens, so without this an expired session would keep receiving on the sockets it had open.
     */
    closeExpired(now: number): number {
      let closed = 0;
      for (const set of [...bySession.values()]) {
        for (const connection of [...set]) {
          if (connection.expiresAt > now) continue;
          connection.close('session expired');
          closed++;
        }
      }
      return closed;
    },

    isConnected(userId: number): boolean {
      return byUser.has(userId);
    },

    /** Called when a user's first connection on this instance opens. */
    onFirstConnection(listener: ConnectionListener): void {
      firstListeners.push(listener);
    },

    /** Called when a user's last connection on this instance closes. */
    onLastDisconnection(listener: ConnectionListener): void {
      lastListeners.push(listener);
    },
  };
}

export type ConnectionRegistry = ReturnType<typeof createConnectionRegistry>;
