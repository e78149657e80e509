/**
 * True if `promise` settled (resolved or rejected) within `ms`; false once `ms` passed. The
 * timer is cleared either way. For shutdown steps that wait a bounded time, then cut.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
