/** A thin horizontal bar for a 0..1 value (CPU load, consensus), with its number beside it. */
export function Meter(props: { fraction: number | null; label: string; tone?: "good" | "warn" | "bad" }) {
  const f = props.fraction === null ? 0 : Math.max(0, Math.min(1, props.fraction));
  const tone = props.tone ?? (f > 0.85 ? "bad" : f > 0.6 ? "warn" : "good");
  return (
    <span class="meter" title={props.label}>
      <span class="meter-track">
        <span class={`meter-fill meter-${tone}`} style={{ width: `${Math.round(f * 100)}%` }} />
      </span>
      <span class="meter-label">{props.label}</span>
    </span>
  );
}
