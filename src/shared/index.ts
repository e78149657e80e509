export * from './limits.js';
export * from './dto.js';
export * from './events.js';
export * from './schemas.js';
export * from './social.js';
export * from './notifications.js';
export * from './ids.js';
export * from './text.js';
export type { AppRouter } from '../server/routers/index.js';
