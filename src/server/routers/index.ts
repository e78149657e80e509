import { createCallerFactory, router } from '../trpc.js';
import { authRouter } from './auth.js';
import { conversationRouter } from './conversation.js';
import { inboxRouter } from './inbox.js';
import { messageRouter } from './message.js';

export const appRouter = router({
  auth: authRouter,
  conversation: conversationRouter,
  message: messageRouter,
  inbox: inboxRouter,
});

export type AppRouter = typeof appRouter;

/** `createCaller(ctx)` for tests and for code that mounts the API in-process. */
export const createCaller = createCallerFactory(appRouter);
