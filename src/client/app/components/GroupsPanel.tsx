import { useState, type FormEvent } from 'react';
import { useInvitationResponse } from '../../hooks/useInvitationResponse.js';
import { readableError } from '../../logic/errors.js';
import { trpc } from '../../trpc.js';

/** Create a group; answer invitations. */
export function GroupsPanel({ onOpenConversation }: { onOpenConversation: (conversationId: number) => void }) {
  const utils = trpc.useUtils();
  const groups = trpc.group.list.useQuery(undefined, { staleTime: 30_000 });
  const create = trpc.group.create.useMutation({
    onSuccess: async ({ group }) => {
      await Promise.all([utils.group.list.invalidate(), utils.conversation.list.invalidate()]);
      onOpenConversation(group.conversationId);
    },
  });
  const respond = useInvitationResponse(onOpenConversation);
  const [name, setName] = useState('');

  function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim()) create.mutate({ name: name.trim() }, { onSuccess: () => setName('') });
  }

  const invitations = groups.data?.invitations ?? [];
  return (
    <section aria-labelledby="groups-title">
      <h2 id="groups-title">Groups</h2>
      <form onSubmit={submit} className="inline-form">
        <label htmlFor="group-name">Group name</label>
        <input id="group-name" value={name} onChange={(event) => setName(event.target.value)} maxLength={100} />
        <button type="submit" disabled={create.isPending}>
          Create group
        </button>
      </form>
      {create.error && <p role="alert" className="error">{readableError(create.error)}</p>}
      {invitations.length > 0 && (
        <ul className="invitations" aria-label="Invitations">
          {invitations.map((invitation) => (
            <li key={invitation.id}>
              <span>
                <strong>{invitation.inviter.username}</strong> invited you to <strong>{invitation.groupName}</strong>
              </span>
              <span className="actions">
                <button type="button" onClick={() => respond.mutate({ invitationId: invitation.id, accept: true })} aria-label={`Accept invitation to ${invitation.groupName}`}>
                  Accept
                </button>
                <button type="button" className="secondary" onClick={() => respond.mutate({ invitationId: invitation.id, accept: false })} aria-label={`Decline invitation to ${invitation.groupName}`}>
                  Decline
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {respond.error && <p role="alert" className="error">{readableError(respond.error)}</p>}
    </section>
  );
}
