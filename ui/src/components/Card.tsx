import type { ComponentChildren } from "preact";

export function Card(props: { title: string; children: ComponentChildren; aside?: ComponentChildren; testId?: string; class?: string }) {
  return (
    <section class={`card ${props.class ?? ""}`} data-testid={props.testId}>
      <header class="card-head">
        <h2>{props.title}</h2>
        {props.aside ? <div class="card-aside">{props.aside}</div> : null}
      </header>
      {props.children}
    </section>
  );
}
