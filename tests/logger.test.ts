import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logFormatFor } from '../src/server/logger.js';

describe('logger', () => {
  it('is human-readable in development and JSON elsewhere', () => {
    expect(logFormatFor('development')).toBe('pretty');
    expect(logFormatFor('production')).toBe('json');
    expect(logFormatFor('test')).toBe('json');
  });

  it('pretty output is a readable line, not JSON', () => {
    let written = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk);
        done();
      },
    });
    createLogger('info', 'pretty', sink).info({ port: 3000 }, 'listening');
    expect(written).toMatch(/INFO.*listening/);
    expect(written).toMatch(/port: 3000/);
    expect(() => JSON.parse(written)).toThrow();
  });

  it('JSON output is one JSON object per line, and silent stays silent', () => {
    let written = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk);
        done();
      },
    });
    createLogger('info', 'json', sink).info({ port: 3000 }, 'listening');
    expect(JSON.parse(written)).toMatchObject({ msg: 'listening', port: 3000 });
    expect(createLogger('silent', 'pretty').isLevelEnabled('info')).toBe(false);
  });
});
