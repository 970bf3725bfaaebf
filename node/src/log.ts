// Structured logs (JSON lines, pino). One root logger; each seam takes a child with its name.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(name = "ripple", level = process.env.RIPPLE_LOG_LEVEL ?? "info"): Logger {
  return pino({ name, level });
}
