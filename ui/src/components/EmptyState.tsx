import type { ComponentChildren } from "preact";

/** What a page shows when there is nothing yet: says why, and what to do about it. */
export function EmptyState(props: { title: string; children?: ComponentChildren; testId?: string }) {
  return (
    <div class="empty" data-testid={props.testId ?? "empty-state"}>
      <div class="empty-title">{props.title}</div>
      {props.children ? <div class="empty-body">{props.children}</div> : null}
    </div>
  );
}
