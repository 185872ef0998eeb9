import { badInput } from "../errors";

/**
 * A parser for protobuf TEXT format (what Triton's config.pbtxt is written in), producing a
 * schema-less tree: every field maps to the list of its values (scalars or nested messages),
 * because text format lets any field repeat. Supports `name: value`, `name { ... }`,
 * `name: { ... }`, `< ... >` message delimiters, `[a, b]` lists, quoted strings with escapes,
 * comments (`#`), and `,`/`;` separators.
 */
export type PbScalar = string | number | boolean | { enum: string };
export type PbValue = PbScalar | PbMessage;
export interface PbMessage {
  [field: string]: PbValue[];
}

interface Token {
  kind: "ident" | "number" | "string" | "punct";
  text: string;
  line: number;
}

function tokenize(src: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if ("{}[]<>:,;".includes(c)) {
      out.push({ kind: "punct", text: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\n") throw badInput(`${file}:${line}: unterminated string`);
        if (src[j] === "\\" && j + 1 < src.length) {
          const e = src[j + 1];
          s += e === "n" ? "\n" : e === "t" ? "\t" : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw badInput(`${file}:${line}: unterminated string`);
      out.push({ kind: "string", text: s, line });
      i = j + 1;
    } else {
      const m = /^[-+]?(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)[fF]?/.exec(
        src.slice(i),
      );
      if (m && (c === "-" || c === "+" || c === "." || /\d/.test(c))) {
        out.push({ kind: "number", text: m[0], line });
        i += m[0].length;
        continue;
      }
      const id = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(i));
      if (!id) throw badInput(`${file}:${line}: unexpected character '${c}'`);
      out.push({ kind: "ident", text: id[0], line });
      i += id[0].length;
    }
  }
  return out;
}

/** Parses text-format protobuf into a tree; `file` names the source in error messages. */
export function parsePbtxt(src: string, file = "config.pbtxt"): PbMessage {
  const toks = tokenize(src, file);
  let p = 0;
  const peek = () => toks[p];
  const fail = (msg: string, t = peek()): never => {
    throw badInput(`${file}:${t ? t.line : "end"}: ${msg}`);
  };
  const expect = (text: string) => {
    const t = toks[p];
    if (!t || t.text !== text || t.kind !== "punct")
      fail(`expected '${text}'${t ? ` but found '${t.text}'` : ""}`);
    p++;
  };
  const scalar = (): PbScalar => {
    const t = toks[p++];
    if (!t) return fail("unexpected end of input");
    if (t.kind === "string") {
      let s = t.text;
      // Adjacent string literals concatenate, as in protobuf text format.
      while (peek()?.kind === "string") s += toks[p++].text;
      return s;
    }
    if (t.kind === "number") return Number(t.text.replace(/[fF]$/, ""));
    if (t.kind === "ident") {
      if (t.text === "true" || t.text === "True") return true;
      if (t.text === "false" || t.text === "False") return false;
      return { enum: t.text };
    }
    return fail(`expected a value but found '${t.text}'`, t);
  };
  const message = (close: string | undefined): PbMessage => {
    const msg: PbMessage = {};
    for (;;) {
      const t = peek();
      if (!t) {
        if (close) fail(`missing '${close}'`);
        return msg;
      }
      if (close && t.kind === "punct" && t.text === close) {
        p++;
        return msg;
      }
      if (t.kind !== "ident") fail(`expected a field name but found '${t.text}'`);
      p++;
      msg[t.text] ??= [];
      const values = msg[t.text];
      const hasColon = peek()?.text === ":" && peek()?.kind === "punct";
      if (hasColon) p++;
      const v = peek();
      if (!v) fail(`field '${t.text}' has no value`);
      if (v.kind === "punct" && (v.text === "{" || v.text === "<")) {
        p++;
        values.push(message(v.text === "{" ? "}" : ">"));
      } else if (v.kind === "punct" && v.text === "[") {
        p++;
        while (!(peek()?.kind === "punct" && peek()?.text === "]")) {
          const e = peek();
          if (e?.kind === "punct" && (e.text === "{" || e.text === "<")) {
            p++;
            values.push(message(e.text === "{" ? "}" : ">"));
          } else values.push(scalar());
          if (peek()?.text === ",") p++;
          else break;
        }
        expect("]");
      } else {
        if (!hasColon) fail(`expected ':' or '{' after '${t.text}'`);
        values.push(scalar());
      }
      const sep = peek();
      if (sep?.kind === "punct" && (sep.text === "," || sep.text === ";")) p++;
    }
  };
  return message(undefined);
}
