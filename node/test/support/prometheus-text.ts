// A strict parser of the Prometheus text exposition format (version 0.0.4), for the metrics tests:
// every line is `# HELP name text`, `# TYPE name type`, or a sample `name{label="value",…} value`;
// every sample belongs to a family declared by one TYPE (and one HELP) before it, with the suffixes
// its type allows (_bucket/_sum/_count for histograms). Anything else throws, naming the line.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string | undefined;
}

export interface Exposition {
  families: Map<string, Family>;
  samples: Sample[];
  /** The value of one sample; undefined when there is none with exactly these labels. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Sum over every sample of that name whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const suffixes: Record<Family["type"], string[]> = { counter: [""], gauge: [""], untyped: [""], histogram: ["_bucket", "_sum", "_count"], summary: ["", "_sum", "_count"] };

export function parsePrometheusText(text: string): Exposition {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const helpSeen = new Set<string>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  else throw new Error("the exposition does not end with a newline");
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line) ?? fail("a comment that is neither HELP nor TYPE");
      const [, kind, name, rest] = m as unknown as [string, "HELP" | "TYPE", string, string];
      if (!metricName.test(name)) fail("bad metric name");
      if (kind === "HELP") {
        if (helpSeen.has(name)) fail("a second HELP");
        helpSeen.add(name);
        const f = families.get(name);
        if (f) f.help = unescapeHelp(rest);
        else families.set(name, { name, type: "untyped", help: unescapeHelp(rest) });
        return;
      }
      if (!types.has(rest)) fail("unknown type");
      const f = families.get(name);
      if (f && (f.type !== "untyped" || samples.some((s) => familyOf(s.name, families) === f))) fail("a second TYPE, or a TYPE after samples");
      families.set(name, { name, type: rest as Family["type"], help: f?.help });
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line) ?? fail("not `name{labels} value`");
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const value = parseValue(valueText) ?? fail("bad value");
    const labels = labelText ? parseLabels(labelText.slice(1, -1), fail) : {};
    const family = familyOf(name, families) ?? fail("a sample of no declared family");
    if (family.help === undefined) fail("a sample of a family without HELP");
    if (family.type === "histogram" && name.endsWith("_bucket") && labels.le === undefined) fail("a bucket without le");
    samples.push({ name, labels, value });
  });
  const matches = (s: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    families,
    samples,
    value: (name, labels = {}) =>
      samples.find((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && matches(s, labels))?.value,
    sum: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s, labels)).reduce((a, s) => a + s.value, 0),
  };
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  for (const f of families.values()) {
    if (suffixes[f.type].some((suffix) => sampleName === f.name + suffix)) return f;
  }
  return undefined;
}

/** As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(text: string): number | undefined {
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function parseLabels(text: string, fail: (why: string) => never): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) fail("a label without =");
    const name = text.slice(i, eq);
    if (!labelName.test(name)) fail(`bad label name ${JSON.stringify(name)}`);
    if (name in labels) fail(`label ${name} twice`);
    if (text[eq + 1] !== '"') fail("a label value without quotes");
    let value = "";
    let j = eq + 2;
    for (;;) {
      if (j >= text.length) fail("an unterminated label value");
      const c = text[j]!;
      if (c === "\\") {
        const next = text[j + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else fail("a bad escape in a label value");
        j += 2;
      } else if (c === '"') {
        j++;
        break;
      } else {
        value += c;
        j++;
      }
    }
    labels[name] = value;
    if (j === text.length) break;
    if (text[j] !== ",") fail("labels not separated by commas");
    i = j + 1;
  }
  return labels;
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\"));
}
