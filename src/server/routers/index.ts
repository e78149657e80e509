import { createCallerFactory, router } from '../trpc.js';
import { authRouter } from './auth.js';
import { conversationRouter } from './conversation.js';
import { groupRouter } from './group.js';
import { inboxRouter } from './inbox.js';
import { messageRouter } from './message.js';
import { notificationRouter } from './notification.js';
import { presenceRouter } from './presence.js';
import { serviceRouter } from './service.js';
import { typingRouter } from './typing.js';
import { userRouter } from './user.js';

export const appRouter = router({
  auth: authRouter,
  user: userRouter,
  conversation: conversationRouter,
  message: messageRouter,
  inbox: inboxRouter,
  typing: typingRouter,
  presence: presenceRouter,
  group: groupRouter,
  notification: notificationRouter,
  /** Trusted backend code only. */
  service: serviceRouter,
});

export type AppRouter = typeof appRouter;

/** `createCaller(ctx)` for tests and for code that mounts the API in-process. */
export const createCaller = createCallerFactory(appRouter);
