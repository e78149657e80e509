import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useConversation } from '../../hooks/useConversation.js';
import { useConversationEvents } from '../../hooks/useConversationEvents.js';
import { useReadReceipts } from '../../hooks/useReadReceipts.js';
import { useSendMessage } from '../../hooks/useSendMessage.js';
import { useTyping } from '../../hooks/useTyping.js';
import { readableError } from '../../logic/errors.js';
import { newestSeq } from '../../logic/messages.js';
import { useConnectionState } from '../../RealtimeProvider.js';
import { trpc, type Conversation, type User } from '../../trpc.js';
import { ChatHeader } from './ChatHeader.js';
import { Composer } from './Composer.js';
import { GroupMembers } from './GroupMembers.js';
import { MessageList, type MemberLine } from './MessageList.js';

const NEAR_EDGE_PX = 48;
const CHANGE_TEXT = { joined: 'joined the group', left: 'left the group', removed: 'was removed from the group' } as const;

export function ChatWindow({ conversation, me, onClose }: { conversation: Conversation; me: User; onClose: () => void }) {
  const { items, messages, status, error, hasOlder, isLoadingOlder, fetchOlder } = useConversation(conversation.id);
  const { send, retry, discard } = useSendMessage(conversation.id);
  const typing = useTyping(conversation.id);
  const connection = useConnectionState();
  const [atBottom, setAtBottom] = useState(true);
  const receipts = useReadReceipts(conversation.id, messages, { visible: atBottom });
  const [showMembers, setShowMembers] = useState(false);
  const [memberLines, setMemberLines] = useState<MemberLine[]>([]);
  const utils = trpc.useUtils();
  const log = useRef<HTMLDivElement>(null);
  const keepOffsetFromBottom = useRef<number | null>(null);
  const newest = useRef(0);
  newest.current = newestSeq(messages) ?? 0;

  // Names of everyone ever seen in this chat: a member who left keeps a name in "… left".
  const knownNames = useRef(new Map<number, string>());
  for (const member of conversation.members) knownNames.current.set(member.id, member.username);
  const nameOf = (userId: number) => (userId === me.id ? 'You' : knownNames.current.get(userId) ?? 'Someone');

  // Membership changes: both the header's count and the members panel refetch, and a line shows.
  useConversationEvents(conversation.id, (events) => {
    const changes = events.filter((event) => event.type === 'members');
    if (changes.length === 0) return;
    void utils.conversation.list.invalidate();
    if (conversation.groupId !== null) void utils.group.members.invalidate({ groupId: conversation.groupId });
    setMemberLines((lines) => [
      ...lines,
      ...changes.map((change, index) => ({
        key: `member-${Date.now()}-${index}`,
        afterSeq: newest.current,
        userId: change.userId,
        text: CHANGE_TEXT[change.change],
      })),
    ]);
  });

  // Keep the view pinned: at the bottom for new messages, in place when older ones load above.
  useLayoutEffect(() => {
    const element = log.current;
    if (!element) return;
    if (keepOffsetFromBottom.current !== null) {
      element.scrollTop = element.scrollHeight - keepOffsetFromBottom.current;
      keepOffsetFromBottom.current = null;
    } else if (atBottom) {
      element.scrollTop = element.scrollHeight;
    }
  }, [items, memberLines, atBottom]);

  function onScroll() {
    const element = log.current;
    if (!element) return;
    setAtBottom(element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_EDGE_PX);
    if (element.scrollTop < NEAR_EDGE_PX && hasOlder && !isLoadingOlder) {
      keepOffsetFromBottom.current = element.scrollHeight - element.scrollTop;
      void fetchOlder();
    }
  }

  // Fill the window: if the first page does not overflow, fetch older right away.
  useEffect(() => {
    const element = log.current;
    if (element && status === 'success' && hasOlder && !isLoadingOlder && element.scrollHeight <= element.clientHeight) void fetchOlder();
  }, [status, hasOlder, isLoadingOlder, fetchOlder, items.length]);

  return (
    <section className="chat" aria-labelledby="chat-title">
      <ChatHeader conversation={conversation} me={me} showMembers={showMembers} onToggleMembers={() => setShowMembers(!showMembers)} onClose={onClose} />
      {showMembers && conversation.groupId !== null && <GroupMembers groupId={conversation.groupId} me={me.id} onLeft={onClose} />}
      <div className="log" ref={log} onScroll={onScroll} role="log" aria-label={`Messages with ${conversation.title}`} aria-live="polite">
        {isLoadingOlder && <p className="muted centered-text">Loading older messages…</p>}
        {status === 'success' && !hasOlder && <p className="muted centered-text">Start of the conversation</p>}
        {status === 'pending' && <p className="muted centered-text">Loading…</p>}
        {error && <p role="alert" className="error">{readableError(error)}</p>}
        <MessageList
          items={items}
          memberLines={memberLines}
          me={me.id}
          isGroup={conversation.kind === 'group'}
          connection={connection}
          nameOf={nameOf}
          seenBy={receipts.seenBy}
          retry={(id) => void retry(id)}
          discard={discard}
        />
      </div>
      <p className="typing" aria-live="polite">
        {typing.label}
      </p>
      <Composer
        onKeystroke={typing.onKeystroke}
        onStop={typing.stop}
        onSend={(content) => {
          setAtBottom(true);
          void send(content);
        }}
      />
    </section>
  );
}
