// No line wider than the formatter's width (.prettierrc.json). Prettier wraps code but leaves
// comments, strings and template text as written; this rule catches those.
import { readFileSync } from 'node:fs';

const width = JSON.parse(readFileSync(new globalThis.URL('../.prettierrc.json', import.meta.url), 'utf8')).printWidth;

export default {
  meta: { type: 'layout', docs: { description: `lines are at most ${width} characters` }, schema: [] },
  create(context) {
    return {
      Program() {
        context.sourceCode.lines.forEach((line, i) => {
          const length = [...line].length;
          if (length > width)
            context.report({
              loc: { start: { line: i + 1, column: width }, end: { line: i + 1, column: length } },
              message: `line is ${length} characters, over ${width}`,
            });
        });
      },
    };
  },
};
