/**
 * Loads in flight by key: callers that miss a cache together share one load instead of each
 * running its own query (after a restart, the first burst of sends would otherwise queue one
 * query per send). A load leaves the map when it settles, rejected or not, so a failure is not
 * kept; `forget` makes the next caller start a fresh load (for a change that the one in flight
 * may not have seen).
 */
export function createSingleFlight<K, V>() {
  const inFlight = new Map<K, Promise<V>>();
  return {
    run(key: K, load: () => Promise<V>): Promise<V> {
      const running = inFlight.get(key);
      if (running) return running;
      // `load` is called inside a promise job, so even one that throws synchronously ends up
      // as a rejection that settles after the promise is in the map, and then leaves it.
      const promise: Promise<V> = Promise.resolve()
        .then(load)
        .finally(() => {
          if (inFlight.get(key) === promise) inFlight.delete(key);
        });
      inFlight.set(key, promise);
      return promise;
    },
    forget(key: K): void {
      inFlight.delete(key);
    },
  };
}
