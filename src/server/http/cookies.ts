import { parse, serialize } from 'cookie';
import type { Config } from '../config.js';

export const SESSION_COOKIE = 'sid';

export function sessionCookie(token: string, expiresAt: Date, config: Pick<Config, 'cookieSecure'>): string {
  return serialize(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: config.cookieSecure,
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(config: Pick<Config, 'cookieSecure'>): string {
  return serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, path: '/', maxAge: 0 });
}

export function sessionTokenFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  return parse(cookieHeader)[SESSION_COOKIE];
}
