import type { DecorateRouterRecord } from '@trpc/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../shared/index.js';

/**
 * The root types the chat's procedures are decorated with inside a host's `createTRPCReact`:
 * any context, meta and error shape (the host's), and no transformer (the chat's DTOs are plain JSON).
 */
// `any`: the host's error shape, whatever its errorFormatter makes of it.
type HostRoot = { ctx: object; meta: object; errorShape: any; transformer: false };

/** What `trpc.chat` is in a host app that mounted the chat router under `chat`. */
export type ChatProcedures = DecorateRouterRecord<HostRoot, AppRouter['_def']['record']>;

type Outputs = inferRouterOutputs<AppRouter>;
export type ChatMessage = Outputs['message']['send'];
export type ChatConversation = Outputs['conversation']['list'][number];
export type ChatNotification = Outputs['notification']['list']['notifications'][number];
export type ChatUser = NonNullable<Outputs['auth']['me']>;
