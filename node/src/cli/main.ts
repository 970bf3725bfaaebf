// The `ripple` command line (commander parses it; each command lives in commands/).
import { Command, CommanderError } from "commander";
import { accountingCommand } from "./commands/accounting.ts";
import { bootstrapCommand } from "./commands/bootstrap-serve.ts";
import { downCommand } from "./commands/down.ts";
import { askCommand } from "./commands/ask.ts";
import { joinCommand } from "./commands/join.ts";
import { modelsCommand } from "./commands/models.ts";
import { artifactsCommand, ipfsCommand, modelShardCommands, shardsCommand } from "./commands/shards.ts";
import { moeCommand } from "./commands/moe.ts";
import { mcpCommand } from "./commands/mcp.ts";
import { probeMachineCommand } from "./commands/probe-machine.ts";
import { resourcesCommand } from "./commands/resources.ts";
import { peersCommand, statusCommand } from "./commands/read-commands.ts";
import { upCommand } from "./commands/up.ts";
import { exitCodes } from "./exit-codes.ts";
import { defaultDataDir } from "./options.ts";

const program = new Command("ripple")
  .description("Ripple Mesh node: join a peer-to-peer inference mesh")
  .option("--data-dir <dir>", "this node's data directory (env RIPPLE_DATA_DIR)", defaultDataDir())
  .showHelpAfterError("(run `ripple --help` for usage)")
  .exitOverride();

upCommand(program);
statusCommand(program);
peersCommand(program);
joinCommand(program);
downCommand(program);
moeCommand(program);
askCommand(program);
modelsCommand(program);
modelShardCommands(program);
shardsCommand(program);
artifactsCommand(program);
ipfsCommand(program);
bootstrapCommand(program);
resourcesCommand(program);
accountingCommand(program);
mcpCommand(program);
probeMachineCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has already printed what was wrong with the command line.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? exitCodes.ok : exitCodes.usage);
  throw err;
}
