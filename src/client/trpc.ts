/**
 * The typed tRPC React binding and the router-derived types every client module uses.
 * Nothing here is written by hand: inputs and outputs come from the server's `AppRouter`.
 */
import { createTRPCReact } from '@trpc/react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../shared/index.js';

export const trpc = createTRPCReact<AppRouter>();

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export type User = RouterOutputs['auth']['login'];
export type Message = RouterOutputs['message']['send'];
export type Conversation = RouterOutputs['conversation']['list'][number];
export type SendMessageInput = RouterInputs['message']['send'];
export type Credentials = RouterInputs['auth']['login'];
export type { AppRouter };
