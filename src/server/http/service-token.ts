import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when `Authorization: Bearer <token>` carries the configured service token (constant time). */
export function serviceIdentityFrom(authorization: string | undefined, serviceToken: string | null): boolean {
  if (!serviceToken || !authorization?.startsWith('Bearer ')) return false;
  // Hash both sides so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(digest(authorization.slice('Bearer '.length)), digest(serviceToken));
}
