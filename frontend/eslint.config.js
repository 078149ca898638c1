// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", ".vite/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        window: "readonly", document: "readonly", console: "readonly", process: "readonly",
      },
    },
    rules: {
      // Data shown by the dashboard comes from the user's site and may be hostile: build DOM with
      // textContent/createElement only.
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Use textContent / createElement (data may be hostile)." },
        { property: "outerHTML", message: "Use textContent / createElement (data may be hostile)." },
        { property: "insertAdjacentHTML", message: "Use createElement (data may be hostile)." },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression[callee.property.name='write'][callee.object.name='document']", message: "No document.write." },
      ],
      "no-eval": "error",
      "no-implied-eval": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);
