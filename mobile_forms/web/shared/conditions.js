// The condition language on the phone: the same rules as backend/forms/conditions.py.
//
// Read that module's docstring for the full semantics; the shared vectors in
// condition_vectors.json prove both agree. In short: values are missing (undefined), boolean,
// number, string, list or other; comparisons with missing, lists, other or mixed kinds are
// false (eq AND ne); ordering is for numbers only; and/or/not count only `true` as true;
// arithmetic on a non-number or division by zero is missing; malformed expressions throw.
// All arguments are always evaluated (no short-circuit) so a malformed branch always throws.
// `answered` is false for a missing, null or N/A answer and for a blank string (empty or only the
// BLANK characters below); the server's `required` check uses the same test, so a form should
// use isAnswered for its own required check too.

export const MAX_DEPTH = 32;

export class ConditionError extends Error {}

const KEY_OPS = new Set(["var", "answered", "is_na", "choice"]);
// op → [min args, max args or null for unbounded]
const ARITY = {
  var: [0, 0], answered: [0, 0], is_na: [0, 0], self: [0, 0], lit: [1, 1],
  eq: [2, 2], ne: [2, 2], lt: [2, 2], le: [2, 2], gt: [2, 2], ge: [2, 2],
  and: [0, null], or: [0, null], not: [1, 1], in: [2, null], contains: [2, 2],
  count: [1, 1], add: [2, null], sub: [2, null], mul: [2, null], div: [2, null],
  if: [3, 3], concat: [0, null], coalesce: [1, null], regex: [2, 2], strlen: [1, 1], today: [0, 0], choice: [0, 0],
};
const DATE = /^\d{4}-\d{2}-\d{2}/;

// lt/le/gt/ge: two numbers, or two dates by their YYYY-MM-DD (as _ordered in conditions.py); else false.
function ordered(op, a, b) {
  let x;
  let y;
  if (kind(a) === "number" && kind(b) === "number") [x, y] = [a, b];
  else if (typeof a === "string" && typeof b === "string" && DATE.test(a) && DATE.test(b)) [x, y] = [a.slice(0, 10), b.slice(0, 10)];
  else return false;
  if (op === "lt") return x < y;
  if (op === "le") return x <= y;
  if (op === "gt") return x > y;
  return x >= y;
}

// today(): the date in UTC when evaluated, or answers["__today"] when the caller pins it (the vectors do).
function today(answers) {
  const pinned = has(answers, "__today") ? answers.__today : undefined;
  return typeof pinned === "string" ? pinned : new Date().toISOString().slice(0, 10);
}
const NODE_FIELDS = new Set(["op", "args", "key"]);
// The same class as _BLANK in conditions.py, character for character: the union of what JavaScript's
// trim() and Python's str.isspace() call white space, written out so neither runtime decides.
const BLANK = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*$/;

function isObject(x) {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

/** An N/A answer is exactly an object whose "na" is the boolean true. */
export function isNaAnswer(answer) {
  return isObject(answer) && answer.na === true;
}

/** Whether `raw` is a string holding nothing but blank characters. */
export function isBlankText(raw) {
  return typeof raw === "string" && BLANK.test(raw);
}

/** What `answered` tests of a raw answer: present, not null, not N/A and not a blank string. */
export function isAnswered(raw) {
  return raw !== undefined && raw !== null && !isNaAnswer(raw) && !isBlankText(raw);
}

/** Normalise an answer or literal to the evaluator's value kinds. */
export function valueOf(raw) {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "boolean" || typeof raw === "string") return raw;
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : undefined;
  if (Array.isArray(raw)) return raw.map(valueOf);
  if (isNaAnswer(raw)) return undefined;
  return raw; // kind "other"
}

/** The kind of a normalised value: missing, bool, number, string, list or other. */
export function kind(value) {
  if (value === undefined) return "missing";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return "number";
  if (typeof value === "string") return "string";
  if (Array.isArray(value)) return "list";
  return "other";
}

const SCALAR = new Set(["bool", "number", "string"]);

function same(a, b) {
  const ka = kind(a);
  return SCALAR.has(ka) && ka === kind(b) && a === b;
}

function differ(a, b) {
  const ka = kind(a);
  return SCALAR.has(ka) && ka === kind(b) && a !== b;
}

function has(obj, key) {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

function nodeParts(node) {
  if (!isObject(node)) return null;
  const unknown = Object.keys(node).filter((k) => !NODE_FIELDS.has(k));
  if (unknown.length) throw new ConditionError(`unknown field(s) ${unknown.sort().join(", ")}`);
  const op = node.op;
  if (typeof op !== "string") throw new ConditionError("node without a string op");
  const args = has(node, "args") && node.args !== undefined ? node.args : [];
  if (!Array.isArray(args)) throw new ConditionError(`${op}: args must be a list`);
  const key = has(node, "key") && node.key !== undefined ? node.key : null;
  if (key !== null && typeof key !== "string") throw new ConditionError(`${op}: key must be a string`);
  return [op, args, key];
}

function checkNodeShape(op, args, key) {
  if (!has(ARITY, op)) throw new ConditionError(`unknown op ${JSON.stringify(op)}`);
  const [low, high] = ARITY[op];
  if (args.length < low || (high !== null && args.length > high)) {
    throw new ConditionError(`${op}: wrong number of arguments (${args.length})`);
  }
  if (KEY_OPS.has(op) && !key) throw new ConditionError(`${op}: needs a key`);
  if (!KEY_OPS.has(op) && key !== null) throw new ConditionError(`${op}: takes no key`);
}

function isLiteralScalar(x) {
  return x === null || ["boolean", "number", "string"].includes(typeof x);
}

function literal(arg) {
  if (Array.isArray(arg)) {
    for (const item of arg) {
      if (!isLiteralScalar(item)) {
        throw new ConditionError("a list literal may hold only null, booleans, numbers and strings");
      }
    }
    return valueOf(arg);
  }
  if (isLiteralScalar(arg)) return valueOf(arg);
  throw new ConditionError(`not a literal: ${typeof arg}`);
}

function arith(op, values) {
  if (values.some((v) => kind(v) !== "number")) return undefined;
  let result = values[0];
  for (const v of values.slice(1)) {
    if (op === "add") result = result + v;
    else if (op === "sub") result = result - v;
    else if (op === "mul") result = result * v;
    else {
      if (v === 0) return undefined;
      result = result / v;
    }
  }
  return Number.isFinite(result) ? result : undefined;
}

// A value as concat writes it, or null when it has no agreed text (see conditions.py's docstring).
export function textOf(value) {
  if (value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return value;
  if (typeof value === "number") {
    const size = Math.abs(value);
    if (Number.isInteger(value) && size < 1e15) return String(value === 0 ? 0 : value);
    return size >= 1e-4 && size < 1e15 ? String(value) : null;
  }
  if (Array.isArray(value)) {
    const parts = value.map(textOf);
    return parts.some((p) => p === null) ? null : parts.join(" ");
  }
  return null;
}

function valueFunction(op, values) {
  switch (op) {
    case "if":
      return values[0] === true ? values[1] : values[2];
    case "concat": {
      const parts = values.map(textOf);
      return parts.some((p) => p === null) ? undefined : parts.join("");
    }
    case "coalesce":
      return values.find((v) => v !== undefined && !isBlankText(v));
    case "regex": {
      const [text, pattern] = values;
      if (typeof text !== "string" || typeof pattern !== "string") return false;
      try {
        return new RegExp(pattern, "u").test(text);
      } catch {
        return false;
      }
    }
    default: { // strlen
      const text = values[0];
      if (text === undefined) return 0;
      return typeof text === "string" ? [...text].length : undefined;
    }
  }
}

function answerOf(answers, key) {
  return has(answers, key) ? answers[key] : undefined;
}

function ev(node, answers, selfValue, depth) {
  const parts = nodeParts(node);
  if (parts === null) return literal(node);
  if (depth > MAX_DEPTH) throw new ConditionError(`nested deeper than ${MAX_DEPTH} nodes`);
  const [op, args, key] = parts;
  checkNodeShape(op, args, key);
  switch (op) {
    case "lit":
      if (nodeParts(args[0]) !== null) throw new ConditionError("lit: its argument must be a literal, not a node");
      return literal(args[0]);
    case "var":
      return valueOf(answerOf(answers, key));
    case "answered":
      return isAnswered(answerOf(answers, key));
    case "is_na":
      return isNaAnswer(answerOf(answers, key));
    case "self":
      return valueOf(selfValue);
    case "today":
      return today(answers);
    case "choice": { // a choice_filter's column of the choice being decided (as _choice_column in Python)
      const row = has(answers, "__choice") ? answers.__choice : undefined;
      return row && typeof row === "object" && !Array.isArray(row) ? valueOf(answerOf(row, key)) : undefined;
    }
    default:
      break;
  }
  const values = args.map((arg) => ev(arg, answers, selfValue, depth + 1));
  switch (op) {
    case "eq":
      return same(values[0], values[1]);
    case "ne":
      return differ(values[0], values[1]);
    case "lt":
    case "le":
    case "gt":
    case "ge":
      return ordered(op, values[0], values[1]);
    case "and":
      return values.every((v) => v === true);
    case "or":
      return values.some((v) => v === true);
    case "not":
      return values[0] !== true;
    case "in": {
      const needle = values[0];
      for (const candidate of values.slice(1)) {
        const pool = Array.isArray(candidate) ? candidate : [candidate];
        if (pool.some((item) => same(needle, item))) return true;
      }
      return false;
    }
    case "contains": {
      const [haystack, needle] = values;
      return Array.isArray(haystack) && haystack.some((item) => same(item, needle));
    }
    case "count":
      return Array.isArray(values[0]) ? values[0].length : undefined;
    case "if":
    case "concat":
    case "coalesce":
    case "regex":
    case "strlen":
      return valueFunction(op, values);
    default:
      return arith(op, values);
  }
}

/** The value of `expr` over `answers`; undefined for "no value"; throws ConditionError. */
export function evaluate(expr, answers, selfValue = undefined) {
  return ev(expr, answers ?? {}, selfValue, 1);
}

/** Whether `expr` holds: only the boolean true counts. */
export function isTrue(expr, answers, selfValue = undefined) {
  return evaluate(expr, answers, selfValue) === true;
}

const REFERENCE = /\$\{([^}]*)\}/g;

/**
 * A label or hint with each ${name} replaced by that question's value as concat writes it (an
 * unanswered one, or one without an agreed text, as nothing), like ODK's forms do. `values` are the
 * visible answers and calculations (visibility(...).visible); the same as fill_references in Python.
 */
export function fillReferences(text, values) {
  return String(text).replace(REFERENCE, (_, name) => {
    const key = name.trim();
    const value = has(values ?? {}, key) ? valueOf(values[key]) : undefined;
    return textOf(value) ?? "";
  });
}
