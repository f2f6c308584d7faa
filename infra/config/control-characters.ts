/**
 * Control characters in config values. Every string of the configuration ends
 * up in a file (alertmanager.yml, a Caddyfile, an environment file,
 * cloud-init) or in a URL, where a line break starts a new directive or
 * header, a NUL cuts the value short, and a tab or a C1 control hides text.
 * WHATWG URL parsing even drops tabs and line breaks silently, so a URL check
 * alone lets them through. No value the program takes needs one, except PEM
 * text, which is lines.
 */

/** C0 controls (line breaks, tab, NUL), DEL, C1 controls, and Unicode's line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu;

const NAMES: Readonly<Record<string, string>> = {
  "\n": "a line feed",
  "\r": "a carriage return",
  "\t": "a tab",
  "\u0000": "a NUL",
  "\u2028": "a line separator",
  "\u2029": "a paragraph separator",
};

function codePoint(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Why `text` cannot be taken, e.g. `contains a line feed (U+000A) at character
 * 27`, or undefined when it holds no control character. `lines` allows line
 * feeds (PEM text); a carriage return is still refused there.
 */
export function controlCharacterProblem(text: string, lines = false): string | undefined {
  for (let index = 0; index < text.length; index++) {
    const character = text[index]!;
    if (!CONTROL.test(character) || (lines && character === "\n")) continue;
    const named = `${NAMES[character] ?? "a control character"} (${codePoint(character)})`;
    const hint = lines
      ? "PEM text takes only line feeds (LF) between its lines"
      : "a value that reaches a file or a URL holds no line breaks, tabs or other control characters";
    return `contains ${named} at character ${index + 1}; ${hint}`;
  }
  return undefined;
}

/** True when `text` holds a control character. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** `text` with each control character written as an escape (\n, \u0000), so a message stays one line per problem. */
export function escapeControlCharacters(text: string): string {
  return text.replace(
    CONTROL_ALL,
    (character) => ({ "\n": "\\n", "\r": "\\r", "\t": "\\t" })[character] ?? `\\u${character.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}
