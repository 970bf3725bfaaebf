/** A coloured dot with a word: online / offline, running / failed, … */
export function StatusPill(props: { tone: "good" | "bad" | "warn" | "busy" | "idle"; label: string; title?: string }) {
  return (
    <span class={`pill pill-${props.tone}`} title={props.title}>
      <span class="dot" aria-hidden="true" />
      {props.label}
    </span>
  );
}
