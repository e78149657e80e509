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
    const wait = /try again in (\d+) ?s/i.exec(error.message);
    if (code === 'TOO_MANY_REQUESTS' && wait) return `Too many attempts. Try again in ${wait[1]} ${Number(wait[1]) === 1 ? 'second' : 'seconds'}.`;
    if (code === 'BAD_REQUEST' && zodIssues) return zodIssues;
    if (code === 'UNAUTHORIZED' && /password|username|credential/i.test(error.message)) return error.message;
    if (code === 'CONFLICT' || code === 'BAD_REQUEST' || code === 'FORBIDDEN' || code === 'NOT_FOUND') return error.message;
    if (code && FRIENDLY[code]) return FRIENDLY[code];
    if (code === null) return 'Cannot reach the server. Check your connection.';
  }
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

type Issue = { path?: unknown[]; message?: string; code?: string; minimum?: number | bigint; maximum?: number | bigint; origin?: string; format?: string };

const FIELD_NAMES: Record<string, string> = { username: 'Username', password: 'Password', content: 'Message', name: 'Name', query: 'Search' };

/** One zod issue as a sentence ("Password must be at least 8 characters."), not zod's raw text. */
export function friendlyIssue(issue: Issue): string {
  const key = issue.path && issue.path.length > 0 ? String(issue.path[issue.path.length - 1]) : '';
  const field = FIELD_NAMES[key] ?? (key ? key.charAt(0).toUpperCase() + key.slice(1) : 'This value');
  const unit = issue.origin === 'string' ? 'characters' : issue.origin === 'array' ? 'items' : '';
  if (issue.code === 'too_small' && issue.minimum !== undefined) {
    if (issue.origin === 'string' && Number(issue.minimum) === 1) return `${field} cannot be empty.`;
    return `${field} must be at least ${String(issue.minimum)}${unit ? ` ${unit}` : ''}.`;
  }
  if (issue.code === 'too_big' && issue.maximum !== undefined) return `${field} must be at most ${String(issue.maximum)}${unit ? ` ${unit}` : ''}.`;
  if (issue.code === 'invalid_format' || issue.code === 'invalid_string') {
    return key === 'username' ? 'Username may use only letters, digits, dots, dashes and underscores.' : `${field} has an invalid format.`;
  }
  return issue.message ? `${field}: ${issue.message}` : `${field} is invalid.`;
}

function parseIssues(message: string): string | null {
  if (!message.startsWith('[')) return null;
  try {
    const issues = JSON.parse(message) as Issue[];
    return issues.map(friendlyIssue).join(' ');
  } catch {
    return null;
  }
}
