/** Turns any thrown value into a sentence a user can read. */
import { TRPCClientError } from '@trpc/client';

export function errorCode(error: unknown): string | null {
  if (error instanceof TRPCClientError) {
    const data: unknown = error.data;
    if (data && typeof data === 'object' && 'code' in data && typeof data.code === 'string') return data.code;
  }
  return null;
}

export function isUnauthorized(error: unknown): boolean {
  return errorCode(error) === 'UNAUTHORIZED';
}

/** Network failures and server-side hiccups are worth retrying; refusals are not. */
export function isRetryable(error: unknown): boolean {
  const code = errorCode(error);
  return code === null || code === 'INTERNAL_SERVER_ERROR' || code === 'TIMEOUT' || code === 'TOO_MANY_REQUESTS';
}

const FRIENDLY: Record<string, string> = {
  UNAUTHORIZED: 'Your session has ended. Please sign in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'Not found.',
  TOO_MANY_REQUESTS: 'Too many requests. Please wait a moment.',
  CONFLICT: 'That already exists.',
};

export function readableError(error: unknown): string {
  const code = errorCode(error);
  if (error instanceof TRPCClientError) {
    // zod validation: the first issue's message is the readable part.
    const zodIssues = parseIssues(error.message);
    if (code === 'BAD_REQUEST' && zodIssues) return zodIssues;
    if (code === 'UNAUTHORIZED' && /password|username|credential/i.test(error.message)) return error.message;
    if (code === 'CONFLICT' || code === 'BAD_REQUEST' || code === 'FORBIDDEN' || code === 'NOT_FOUND') return error.message;
    if (code && FRIENDLY[code]) return FRIENDLY[code];
    if (code === null) return 'Cannot reach the server. Check your connection.';
  }
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

function parseIssues(message: string): string | null {
  if (!message.startsWith('[')) return null;
  try {
    const issues = JSON.parse(message) as Array<{ path?: unknown[]; message?: string }>;
    return issues
      .map((issue) => `${issue.path && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message ?? ''}`)
      .join('; ');
  } catch {
    return null;
  }
}
