// Syntax highlighting, loaded on first use (the main page does not pay for it until a
// transcript shows a fenced code block). Output goes through DOMPurify like everything else.
let loading = null;

const LANGUAGES = {
  javascript: ["js", "jsx", "mjs", "cjs"], typescript: ["ts", "tsx"], python: ["py"], bash: ["sh", "zsh"],
  shell: ["console"], json: [], xml: ["html", "svg"], css: [], diff: ["patch"], yaml: ["yml"], go: [],
  rust: ["rs"], sql: [], markdown: ["md"],
};

function load() {
  loading ??= (async () => {
    const base = new URL("../../../vendor/highlight/", import.meta.url);
    const { default: hljs } = await import(new URL("core.min.js", base));
    await Promise.all(Object.entries(LANGUAGES).map(async ([name, aliases]) => {
      const { default: grammar } = await import(new URL(`languages/${name}.min.js`, base));
      hljs.registerLanguage(name, grammar);
      if (aliases.length) hljs.registerAliases(aliases, { languageName: name });
    }));
    return hljs;
  })();
  return loading;
}

const MAX_CHARS = 50_000;

// Highlight <code> elements in place (each one keeps its text if anything fails).
export async function highlight(codes) {
  if (!codes.length) return;
  const hljs = await load();
  for (const code of codes) {
    const text = code.textContent;
    if (!text || text.length > MAX_CHARS || !code.isConnected) continue;
    const lang = /language-([\w+-]+)/.exec(code.className)?.[1];
    try {
      const result = lang && hljs.getLanguage(lang) ? hljs.highlight(text, { language: lang, ignoreIllegals: true })
        : null;
      if (!result) continue;
      code.innerHTML = window.DOMPurify.sanitize(result.value, { ALLOWED_TAGS: ["span"], ALLOWED_ATTR: ["class"] });
      code.classList.add("hljs");
    } catch (err) {
      console.warn("highlight failed", err);
    }
  }
}
