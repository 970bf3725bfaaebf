import { useState } from "preact/hooks";
import { consoleStore } from "../state/console-run.ts";

/** The prompt box: an MOE job over the mesh's experts, or one model on whichever peer serves it. */
export function ConsoleForm(props: { models: string[]; taskTypes: string[]; maxExperts: number; running: boolean }) {
  const [mode, setMode] = useState<"moe" | "ask">("moe");
  const [prompt, setPrompt] = useState("");
  const [experts, setExperts] = useState(3);
  const [taskType, setTaskType] = useState("");
  const [model, setModel] = useState("");
  const [maxTokens, setMaxTokens] = useState(64);
  const chosenModel = model || props.models[0] || "";
  const canSubmit = !props.running && prompt.trim() !== "" && (mode === "moe" || chosenModel !== "");

  const submit = (e: Event) => {
    e.preventDefault();
    if (!canSubmit) return;
    if (mode === "moe") void consoleStore.moe({ prompt: prompt.trim(), experts, ...(taskType ? { taskType } : {}), maxTokens });
    else void consoleStore.ask({ prompt: prompt.trim(), model: chosenModel, maxTokens });
  };

  return (
    <form class="console-form" onSubmit={submit} data-testid="console-form">
      <div class="seg" role="radiogroup" aria-label="What to run">
        <label class={mode === "moe" ? "seg-on" : ""}>
          <input type="radio" name="mode" value="moe" checked={mode === "moe"} onChange={() => setMode("moe")} data-testid="console-mode-moe" />
          MOE (several experts vote)
        </label>
        <label class={mode === "ask" ? "seg-on" : ""}>
          <input type="radio" name="mode" value="ask" checked={mode === "ask"} onChange={() => setMode("ask")} data-testid="console-mode-ask" />
          One model
        </label>
      </div>
      <textarea
        value={prompt}
        onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit(e);
        }}
        placeholder="Ask something, e.g. What is the capital of France?"
        rows={3}
        maxLength={8000}
        data-testid="console-prompt"
        aria-label="Prompt"
      />
      <div class="form-row">
        {mode === "moe" ? (
          <>
            <label>
              Experts
              <input type="number" min={1} max={props.maxExperts} value={experts} onInput={(e) => setExperts(Number((e.target as HTMLInputElement).value) || 1)} data-testid="console-experts" />
            </label>
            <label>
              Task type
              <select value={taskType} onChange={(e) => setTaskType((e.target as HTMLSelectElement).value)}>
                <option value="">default</option>
                {props.taskTypes.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
          </>
        ) : (
          <label>
            Model
            <select value={chosenModel} onChange={(e) => setModel((e.target as HTMLSelectElement).value)} data-testid="console-model">
              {props.models.length === 0 ? <option value="">no model online</option> : null}
              {props.models.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Max tokens
          <input type="number" min={1} max={4096} value={maxTokens} onInput={(e) => setMaxTokens(Number((e.target as HTMLInputElement).value) || 64)} />
        </label>
        <span class="grow" />
        {props.running ? (
          <button type="button" class="secondary" onClick={() => consoleStore.cancel()}>
            Cancel
          </button>
        ) : null}
        <button type="submit" disabled={!canSubmit} data-testid="console-submit">
          {props.running ? "Running…" : "Run"}
        </button>
      </div>
    </form>
  );
}
