/**
 * A shell script as the simple commands it runs, for the host-command rules:
 * words with quotes removed, the targets of its output redirections, the file
 * it reads stdin from, and its here-document. Commands inside `sh -c '...'`,
 * `bash -c`, `su -c` and `eval` are parsed in turn, and wrappers such as
 * sudo, env, nohup and timeout are looked through, so the program a command
 * runs is found however it is invoked. This is not a shell: it reads what a
 * script says, not what variables expand to, and the rules judge what they
 * cannot read as unsafe.
 */
export interface SimpleCommand {
  /** Every word, as written (quotes removed). */
  readonly words: readonly string[];
  /** Index in `words` of the program the command runs, past wrappers and assignments. */
  readonly program: number;
  /** Targets of `>` and `>>`. */
  readonly writes: readonly string[];
  /** The file named by `<`. */
  readonly reads?: string;
  /** The body of a here-document or here-string. */
  readonly heredoc?: string;
}

interface Building {
  words: string[];
  writes: string[];
  reads?: string;
  heredoc?: string;
}

const KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case", "esac", "!", "{", "}", "time", "function"]);
export const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"]);

/** Wrappers that run the command after their options, and how many words each option takes. */
const WRAPPERS: Readonly<Record<string, { readonly valued: readonly string[]; readonly positional: number }>> = {
  sudo: { valued: ["-u", "-g", "-h", "-p", "-C", "-D", "-R", "-T", "-U", "--user", "--group", "--host", "--prompt", "--chdir"], positional: 0 },
  doas: { valued: ["-u", "-C"], positional: 0 },
  env: { valued: ["-u", "--unset", "-C", "--chdir", "-S"], positional: 0 },
  command: { valued: [], positional: 0 },
  builtin: { valued: [], positional: 0 },
  exec: { valued: ["-a"], positional: 0 },
  nohup: { valued: [], positional: 0 },
  setsid: { valued: [], positional: 0 },
  nice: { valued: ["-n", "--adjustment"], positional: 0 },
  ionice: { valued: ["-c", "-n", "-p", "--class", "--classdata"], positional: 0 },
  stdbuf: { valued: ["-i", "-o", "-e"], positional: 0 },
  timeout: { valued: ["-s", "-k", "--signal", "--kill-after"], positional: 1 },
  flock: { valued: ["-w", "-E", "--timeout", "--conflict-exit-code"], positional: 1 },
  chroot: { valued: ["--userspec", "--groups"], positional: 1 },
  xargs: { valued: ["-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s"], positional: 0 },
  watch: { valued: ["-n", "-d"], positional: 0 },
};

export function basename(word: string): string {
  return word.slice(word.lastIndexOf("/") + 1);
}

const isAssignment = (word: string) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(word);

/** Where the program of `words` is: past keywords, assignments and wrappers with their options. */
export function programIndex(words: readonly string[]): number {
  let index = 0;
  for (;;) {
    while (index < words.length && (KEYWORDS.has(words[index]!) || isAssignment(words[index]!))) index++;
    const wrapper = WRAPPERS[basename(words[index] ?? "")];
    if (!wrapper) return index;
    index++;
    let positional = wrapper.positional;
    while (index < words.length) {
      const word = words[index]!;
      if (word === "--") {
        index++;
        break;
      }
      if (word.startsWith("-") && word.length > 1) index += wrapper.valued.includes(word) ? 2 : 1;
      else if (isAssignment(word)) index++;
      else if (positional > 0) {
        positional--;
        index++;
      } else break;
    }
  }
}

/** Splits a script into simple commands (depth: how many `sh -c` levels deep this script is). */
export function simpleCommands(script: string, depth = 0): SimpleCommand[] {
  const built: Building[] = [];
  let current: Building = { words: [], writes: [] };
  let word: string | undefined;
  let redirect: ">" | "<" | "<<" | "<<<" | undefined;
  const pendingHeredocs: { command: Building; delimiter: string; strip: boolean }[] = [];
  let heredocStrip = false;

  const endWord = () => {
    if (word === undefined) return;
    if (redirect === ">") current.writes.push(word);
    else if (redirect === "<") current.reads = word;
    else if (redirect === "<<") pendingHeredocs.push({ command: current, delimiter: word, strip: heredocStrip });
    else if (redirect === "<<<") current.heredoc = word;
    else current.words.push(word);
    redirect = undefined;
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (current.words.length > 0 || current.writes.length > 0) built.push(current);
    current = { words: [], writes: [] };
  };

  let index = 0;
  while (index < script.length) {
    const char = script[index]!;
    if (char === "\\") {
      if (script[index + 1] === "\n") index += 2;
      else {
        word = (word ?? "") + (script[index + 1] ?? "");
        index += 2;
      }
      continue;
    }
    if (char === "'") {
      const end = script.indexOf("'", index + 1);
      const stop = end < 0 ? script.length : end;
      word = (word ?? "") + script.slice(index + 1, stop);
      index = stop + 1;
      continue;
    }
    if (char === '"') {
      let text = "";
      index++;
      while (index < script.length && script[index] !== '"') {
        if (script[index] === "\\" && index + 1 < script.length && '"\\$`\n'.includes(script[index + 1]!)) {
          if (script[index + 1] !== "\n") text += script[index + 1];
          index += 2;
        } else text += script[index++];
      }
      word = (word ?? "") + text;
      index++;
      continue;
    }
    if (char === "#" && word === undefined) {
      while (index < script.length && script[index] !== "\n") index++;
      continue;
    }
    if (char === "\n") {
      endCommand();
      index++;
      // Here-documents start on the line after the one that opened them.
      for (const pending of pendingHeredocs.splice(0)) {
        const lines: string[] = [];
        while (index < script.length) {
          const end = script.indexOf("\n", index);
          const line = script.slice(index, end < 0 ? script.length : end);
          index = end < 0 ? script.length : end + 1;
          if ((pending.strip ? line.replace(/^\t+/, "") : line) === pending.delimiter) break;
          lines.push(pending.strip ? line.replace(/^\t+/, "") : line);
        }
        pending.command.heredoc = lines.join("\n");
      }
      continue;
    }
    if (char === " " || char === "\t") {
      endWord();
      index++;
      continue;
    }
    if (char === ";" || char === "&" || char === "|" || char === "(" || char === ")" || char === "`") {
      if (char === "&" && script[index + 1] === ">") {
        // &> and &>>: both outputs to a file.
        endWord();
        redirect = ">";
        index += script[index + 2] === ">" ? 3 : 2;
        continue;
      }
      endCommand();
      index++;
      continue;
    }
    if (char === "$" && script[index + 1] === "(") {
      endCommand();
      index += 2;
      continue;
    }
    if (char === ">" || char === "<") {
      // A file descriptor number written right before the operator (2>) is not a word.
      if (word !== undefined && /^\d+$/.test(word)) word = undefined;
      endWord();
      if (char === ">") {
        index += script[index + 1] === ">" || script[index + 1] === "|" ? 2 : 1;
        if (script[index] === "&") {
          // >&2: to another descriptor, not a file.
          index++;
          while (index < script.length && /[\d-]/.test(script[index]!)) index++;
          continue;
        }
        redirect = ">";
      } else if (script.startsWith("<<<", index)) {
        redirect = "<<<";
        index += 3;
      } else if (script.startsWith("<<", index)) {
        heredocStrip = script[index + 2] === "-";
        redirect = "<<";
        index += heredocStrip ? 3 : 2;
      } else {
        index++;
        if (script[index] === "&" || script[index] === "(") continue;
        redirect = "<";
      }
      continue;
    }
    word = (word ?? "") + char;
    index++;
  }
  endCommand();

  return built.flatMap((command): SimpleCommand[] => {
    const program = programIndex(command.words);
    const simple: SimpleCommand = {
      words: command.words,
      program,
      writes: command.writes,
      ...(command.reads === undefined ? {} : { reads: command.reads }),
      ...(command.heredoc === undefined ? {} : { heredoc: command.heredoc }),
    };
    const nested = depth < 4 ? (nestedScript(command.words, program) ?? heredocScript(command, program)) : undefined;
    return nested === undefined ? [simple] : [simple, ...simpleCommands(nested, depth + 1)];
  });
}

/** The script a command runs in a nested shell: `sh -c '<script>'`, `su -c '<script>'`, `eval <words>`. */
function nestedScript(words: readonly string[], program: number): string | undefined {
  const name = basename(words[program] ?? "");
  const args = words.slice(program + 1);
  if (name === "eval") return args.join(" ");
  if (SHELLS.has(name) || name === "su" || name === "runuser") {
    const flag = args.findIndex((arg) => arg === "-c" || arg === "--command" || /^-[a-zA-Z]*c[a-zA-Z]*$/.test(arg));
    if (flag >= 0) return args[flag + 1];
  }
  return undefined;
}

/** A shell given its script in a here-document or here-string (`bash <<'EOF' ... EOF`). */
function heredocScript(command: Building, program: number): string | undefined {
  return SHELLS.has(basename(command.words[program] ?? "")) ? command.heredoc : undefined;
}

/**
 * Whether the command line runs a script it reads on stdin: a shell started
 * without -c or a script file (`sudo bash -s`, `sh`), or `eval`/`source` of
 * stdin. Then a host command's stdin is a script, not data.
 */
export function runsStdin(commands: readonly SimpleCommand[]): boolean {
  return commands.some((command) => {
    const name = basename(command.words[command.program] ?? "");
    const args = command.words.slice(command.program + 1);
    if (SHELLS.has(name))
      return command.heredoc === undefined && !args.some((arg) => arg === "-c" || /^-[a-zA-Z]*c[a-zA-Z]*$/.test(arg) || !arg.startsWith("-"));
    if ((name === "source" || name === ".") && (args[0] === "/dev/stdin" || args[0] === "-")) return true;
    return ["python", "python3", "perl", "ruby", "node"].includes(name) && (args.length === 0 || args.includes("-"));
  });
}
