/**
 * An AbortController that also aborts when `parent` does. The listener is removed once either
 * fires, so long-lived parents do not accumulate listeners.
 */
export function linkedAbort(parent: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (!parent) return controller;
  if (parent.aborted) {
    controller.abort();
    return controller;
  }
  const onAbort = () => controller.abort();
  parent.addEventListener('abort', onAbort, { once: true });
  controller.signal.addEventListener('abort', () => parent.removeEventListener('abort', onAbort), { once: true });
  return controller;
}
