// The VS Code client for `deploy lsp`: starts the language server for
// `.deploy` files and restarts it when its settings change.

import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function serverOptions(): ServerOptions {
  const settings = vscode.workspace.getConfiguration("deploy.server");
  const command = settings.get<string>("path") || "deploy";
  const extraArgs = settings.get<string[]>("extraArgs") || [];
  const run = { command, args: ["lsp", ...extraArgs] };
  return { run, debug: run };
}

async function start(): Promise<void> {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "deploy" },
      { scheme: "untitled", language: "deploy" },
    ],
  };
  client = new LanguageClient("deploy", "deploy language server", serverOptions(), clientOptions);
  try {
    await client.start();
  } catch (error) {
    const path = vscode.workspace.getConfiguration("deploy.server").get<string>("path");
    void vscode.window.showErrorMessage(
      `Could not start \`${path} lsp\`: ${error}. Set "deploy.server.path" to the deploy binary.`,
    );
  }
}

async function restart(): Promise<void> {
  if (client) {
    await client.stop().catch(() => undefined);
    client = undefined;
  }
  await start();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("deploy.restartServer", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("deploy.server")) {
        void restart();
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
  }
}
