import { useEffect } from 'react';
import { readableError } from '../../logic/errors.js';
import { plural } from '../../logic/format.js';
import { trpc } from '../../trpc.js';
import { UserSearch } from './UserSearch.js';

/** Members of a group, invitations, removal (owner) and leaving. */
export function GroupMembers({ groupId, me, onLeft }: { groupId: number; me: number; onLeft: () => void }) {
  const utils = trpc.useUtils();
  const members = trpc.group.members.useQuery({ groupId });
  const invite = trpc.group.invite.useMutation();
  const remove = trpc.group.removeMember.useMutation({ onSuccess: () => utils.group.members.invalidate({ groupId }) });
  const leave = trpc.group.leave.useMutation({
    onSuccess: async () => {
      await Promise.all([utils.conversation.list.invalidate(), utils.group.list.invalidate()]);
      onLeft();
    },
  });
  const list = members.data ?? [];
  // The list changed (someone joined, left, was removed): an old "Already invited" is stale.
  const { reset: resetInvite } = invite;
  useEffect(() => resetInvite(), [members.dataUpdatedAt, resetInvite]);
  const isOwner = list.some((member) => member.id === me && member.role === 'owner');
  const error = members.error ?? invite.error ?? remove.error ?? leave.error;

  return (
    <section className="members" aria-labelledby="members-title">
      <h3 id="members-title" data-testid="panel-member-count">
        {plural(list.length, 'member', 'members')}
      </h3>
      <ul>
        {list.map((member) => (
          <li key={member.id}>
            <span>
              {member.username}
              {member.role === 'owner' && <span className="muted"> (owner)</span>}
            </span>
            {isOwner && member.id !== me && (
              <button type="button" className="link" onClick={() => remove.mutate({ groupId, userId: member.id })} aria-label={`Remove ${member.username}`}>
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      <UserSearch
        label="Invite people"
        action="Invite"
        exclude={list.map((member) => member.id)}
        onPick={(user) => {
          invite.reset();
          invite.mutate({ groupId, userId: user.id });
        }}
      />
      {invite.isSuccess && <p role="status" className="muted">Invitation sent to {invite.data.invitee.username}.</p>}
      {error && <p role="alert" className="error">{readableError(error)}</p>}
      <button type="button" className="secondary" onClick={() => leave.mutate({ groupId })}>
        Leave group
      </button>
    </section>
  );
}
