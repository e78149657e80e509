/** The open chat lives in the URL (`/c/12`): a reload reopens it, Back and Forward work. */
import { useCallback, useEffect, useState } from 'react';

export function chatIdFromPath(pathname: string): number | null {
  const match = /^\/c\/(\d{1,15})\/?$/.exec(pathname);
  return match ? Number(match[1]) : null;
}

export function chatPath(conversationId: number | null): string {
  return conversationId === null ? '/' : `/c/${conversationId}`;
}

export function useChatRoute(): [number | null, (conversationId: number | null) => void] {
  const [selected, setSelected] = useState(() => chatIdFromPath(window.location.pathname));

  useEffect(() => {
    const onPop = () => setSelected(chatIdFromPath(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const select = useCallback((conversationId: number | null) => {
    const path = chatPath(conversationId);
    if (window.location.pathname !== path) window.history.pushState({ conversationId }, '', path);
    setSelected(conversationId);
  }, []);

  return [selected, select];
}
