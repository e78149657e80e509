import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/server/config.js';

describe('configuration from the environment', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, databasePath: './data/realtime.sqlite', allowedOrigins: [], cookieSecure: false, logLevel: 'info', env: 'development', seedDemo: true });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      DATABASE_PATH: '/var/lib/chat/db.sqlite',
      ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173',
      COOKIE_SECURE: 'true',
      LOG_LEVEL: 'warn',
      SERVICE_TOKEN: 'x'.repeat(40),
    });
    expect(config).toMatchObject({
      env: 'production',
      port: 8080,
      databasePath: '/var/lib/chat/db.sqlite',
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      cookieSecure: true,
      logLevel: 'warn',
      serviceToken: 'x'.repeat(40),
      seedDemo: false,
    });
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'not a url' }],
    ['COOKIE_SECURE', { COOKIE_SECURE: 'yes please' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['SERVICE_TOKEN', { SERVICE_TOKEN: 'short' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
  ])('names the bad variable %s', (name, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration:\\n  ${name}: `));
  });
});
