import { LIMITS } from '../../shared/limits.js';
import { DomainError } from '../services/errors.js';

/**
 * Rows one HTTP request may return, across every call of its batch: a `GET ?batch=1` of many
 * `conversation.history` calls must not build a response of tens of megabytes. Procedures that
 * return pages spend their page size before they query; the call that would overdraw it is a
 * BAD_REQUEST, and its siblings still answer.
 */
export class RequestBudget {
  constructor(private remaining: number = LIMITS.httpRowsPerRequest) {}

  spend(rows: number): void {
    if (rows > this.remaining) {
      throw new DomainError(
        'BAD_REQUEST',
        `This request asks for too many rows: at most ${LIMITS.httpRowsPerRequest} per HTTP request, split the batch`,
      );
    }
    this.remaining -= rows;
  }
}
