// The segdsl extension: starts `segdsl lsp --stdio` and connects VS Code to it.
// Highlighting comes from syntaxes/segdsl.tmLanguage.json; everything else
// (diagnostics, hover, completion, navigation, rename, formatting, outline) from
// the language server.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

// `segdsl.path`, with ${workspaceFolder} replaced by the first workspace folder.
function serverCommand() {
  const configured = vscode.workspace.getConfiguration("segdsl").get("path") || "segdsl";
  const folder = (vscode.workspace.workspaceFolders || [])[0];
  return folder ? configured.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath) : configured;
}

function createClient() {
  const command = serverCommand();
  const serverOptions = {
    command,
    args: ["lsp"], // the client appends --stdio
    transport: TransportKind.stdio,
  };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "segdsl" },
      { scheme: "untitled", language: "segdsl" },
    ],
    synchronize: {
      // Other .seg files, segdsl.toml and the schema change what a file means.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{seg,toml}"),
    },
  };
  return new LanguageClient("segdsl", "segdsl", serverOptions, clientOptions);
}

async function start() {
  client = createClient();
  try {
    await client.start();
  } catch (err) {
    const command = serverCommand();
    const choice = await vscode.window.showErrorMessage(
      `segdsl: could not start the language server with \`${command} lsp\` (${err}). ` +
        "Install segdsl with the lsp extra (pip install 'segdsl[lsp]') or set segdsl.path.",
      "Open Settings"
    );
    if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "segdsl.path");
    }
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = undefined;
    try {
      await running.stop();
    } catch (_) {
      // It never started; nothing to stop.
    }
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("segdsl.restartServer", async () => {
      await stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("segdsl.path")) {
        await stop();
        await start();
      }
    })
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
