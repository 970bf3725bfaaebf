import { useEffect, useState } from "preact/hooks";
import { consoleStore, type ConsoleRun } from "./console-run.ts";

export function useConsoleRun(): ConsoleRun {
  const [run, setRun] = useState(consoleStore.run);
  useEffect(() => {
    setRun(consoleStore.run);
    return consoleStore.subscribe(() => setRun(consoleStore.run));
  }, []);
  return run;
}
