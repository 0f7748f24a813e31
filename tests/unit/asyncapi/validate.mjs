// Parses an AsyncAPI document with the official parser; prints its diagnostics as JSON.
// Usage: node validate.mjs NPM_PREFIX DOCUMENT  (the folder npm installed @asyncapi/parser into)
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const [prefix, documentPath] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), "package.json"));
const { Parser } = require("@asyncapi/parser");

const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(documentPath, "utf8"));
const severities = ["error", "warning", "info", "hint"];
console.log(
  JSON.stringify({
    parsed: document !== undefined,
    diagnostics: diagnostics.map((d) => ({
      severity: severities[d.severity] ?? String(d.severity),
      code: d.code,
      message: d.message,
      path: d.path.join("/"),
    })),
  }),
);
