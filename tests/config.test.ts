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

  it('chooses the store: SQLite without DATABASE_URL, PostgreSQL with it, with its pool and migration settings', () => {
    expect(loadConfig({})).toMatchObject({ databaseUrl: null, databaseSchema: null, databasePoolSize: 10, migrateOnStart: true, databaseConnectTimeoutMs: 30_000 });
    const config = loadConfig({
      DATABASE_URL: 'postgres://chat:secret@db.internal:5432/chat',
      DATABASE_SCHEMA: 'realtime',
      DATABASE_POOL_SIZE: '20',
      MIGRATE_ON_START: 'false',
      DATABASE_CONNECT_TIMEOUT_S: '5',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://chat:secret@db.internal:5432/chat',
      databaseSchema: 'realtime',
      databasePoolSize: 20,
      migrateOnStart: false,
      databaseConnectTimeoutMs: 5_000,
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
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db.example.com/chat' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['DATABASE_POOL_SIZE', { DATABASE_POOL_SIZE: '0' }],
    ['DATABASE_SCHEMA', { DATABASE_SCHEMA: 'Bad-Name' }],
    ['MIGRATE_ON_START', { MIGRATE_ON_START: 'maybe' }],
  ])('names the bad variable %s', (name, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration:\\n  ${name}: `));
  });
});
