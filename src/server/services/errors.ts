import { NotFoundError, UniqueConstraintViolationException } from '@mikro-orm/core';

export type DomainErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_MANY_REQUESTS';

/**
 * What services throw when a request is refused. The tRPC layer turns it into a TRPCError with
 * the same code, so services stay free of transport types and run the same in a benchmark.
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** TOO_MANY_REQUESTS: when the caller may try again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const forbidden = (message = 'You are not a member of this conversation') =>
  new DomainError('FORBIDDEN', message);
export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new DomainError('CONFLICT', message);
export const badRequest = (message: string) => new DomainError('BAD_REQUEST', message);

/** Maps the ORM's own refusals to domain errors; anything else passes through unchanged. */
export function fromOrmError(error: unknown): unknown {
  if (error instanceof NotFoundError) return new DomainError('NOT_FOUND', error.message);
  if (error instanceof UniqueConstraintViolationException) return conflict('Already exists');
  return error;
}
