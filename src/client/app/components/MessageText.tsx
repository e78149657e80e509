import { LINK_ATTRIBUTES, linkify } from '../../logic/format.js';

/** Message text with http(s) links clickable (React escapes the rest; no other scheme links). */
export function MessageText({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((part, index) =>
        part.kind === 'link' ? (
          <a key={index} href={part.href} {...LINK_ATTRIBUTES}>
            {part.text}
          </a>
        ) : (
          <span key={index}>{part.text}</span>
        ),
      )}
    </>
  );
}
