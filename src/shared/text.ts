/**
 * The one rule for every string a user sends: text the database can store exactly as sent.
 * A NUL byte breaks SQL drivers and C strings; an unpaired UTF-16 surrogate has no UTF-8 form,
 * so SQLite stores U+FFFD in its place and what was acknowledged differs from what history
 * returns. Lengths are counted in code points, as SQLite's `length()` and PostgreSQL's
 * `char_length()` count the stored text, not in UTF-16 units.
 */
import { z } from 'zod';

const NOT_STORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const NOT_STORABLE_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/** True when the text has no NUL and no unpaired surrogate. */
export function isStorableText(value: string): boolean {
  return !NOT_STORABLE.test(value);
}

/** Length as the database counts it: code points. */
export function storedLength(value: string): number {
  let length = 0;
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    // A high surrogate followed by a low one is one code point (ill-formed text is refused before).
    if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < value.length) {
      const next = value.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    length++;
  }
  return length;
}

export type TextBounds = { min?: number; max: number; trim?: boolean };

/**
 * A string the database stores exactly as sent, `min`..`max` code points long (after trimming
 * unless `trim: false`). Every string input uses it, on the server and in the client's forms.
 */
export function textSchema({ min = 0, max, trim = true }: TextBounds) {
  const base = trim ? z.string().trim() : z.string();
  return base
    .refine(isStorableText, { message: NOT_STORABLE_MESSAGE, abort: true })
    .refine((value) => storedLength(value) >= min, {
      message: min === 1 ? 'must not be empty' : `must be at least ${min} characters`,
      abort: true,
    })
    .refine((value) => storedLength(value) <= max, { message: `must be at most ${max} characters` });
}
