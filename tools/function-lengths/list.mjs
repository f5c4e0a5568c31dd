// Lists the longest functions (declarations, methods, arrows, function expressions) in the
// TypeScript sources given, by line count from their first to last line; tests excluded.
// Usage: node tools/function-lengths/list.mjs [top=10] [dirs or files...]   (default: core and kernels src)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const [topArg, ...dirArgs] = process.argv.slice(2);
const top = Number(topArg ?? 10);
const dirs = dirArgs.length > 0 ? dirArgs : ['packages/core/src', 'packages/kernels/src'];

function* tsFiles(dir) {
  if (!statSync(dir).isDirectory()) return yield dir;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) yield path;
  }
}

const rows = [];
for (const file of dirs.flatMap((d) => [...tsFiles(d)])) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      const name = node.name?.getText(source) ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(source) : '<anonymous>');
      rows.push({ lines: last - first + 1, where: `${relative(process.cwd(), file)}:${first}`, name });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
rows.sort((a, b) => b.lines - a.lines);
for (const r of rows.slice(0, top)) console.log(`${String(r.lines).padStart(5)}  ${r.name}  ${r.where}`);
