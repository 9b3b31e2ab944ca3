// Compiles Solidity sources with solc-js (npm `solc`) and prints, as JSON, each contract's
// ABI, creation bytecode and function selectors:
// {"Name": {"abi": [...], "bytecode": "0x...", "methods": {"transfer(address,uint256)": "a9059cbb"}}}.
// Usage: node compile.mjs A.sol [B.sol ...]
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");

const sources = {};
for (const path of process.argv.slice(2)) {
  sources[basename(path)] = { content: readFileSync(path, "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.methodIdentifiers"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length > 0) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const out = {};
for (const file of Object.keys(output.contracts || {})) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    out[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object, methods: c.evm.methodIdentifiers };
  }
}
console.log(JSON.stringify(out));
