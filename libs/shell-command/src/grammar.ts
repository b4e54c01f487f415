import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Language, Parser } from 'web-tree-sitter';

let loading: Promise<Parser> | undefined;

/**
 * The bash grammar (tree-sitter-bash, run as WebAssembly by web-tree-sitter: no native build, no
 * download at install). Loaded once per process; parsing after that is synchronous.
 */
export function loadBashParser(): Promise<Parser> {
  loading ??= (async () => {
    await Parser.init();
    // tree-sitter-bash's package.json has no "exports": its wasm sits beside the package.json.
    const require = createRequire(import.meta.url);
    const wasm = join(dirname(require.resolve('tree-sitter-bash/package.json')), 'tree-sitter-bash.wasm');
    const parser = new Parser();
    parser.setLanguage(await Language.load(wasm));
    return parser;
  })();
  return loading;
}
