import { render } from "preact";
import { App } from "./app.tsx";
import { store } from "./state/store.ts";
import "./styles.css";

store.connect();
render(<App />, document.getElementById("app")!);
