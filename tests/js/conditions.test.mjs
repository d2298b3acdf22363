// The shared condition vectors hold in JavaScript (run: node --test tests/js/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ConditionError, evaluate, isTrue } from "../../mobile_forms/web/shared/conditions.js";

const vectors = JSON.parse(
  readFileSync(new URL("../../mobile_forms/condition_vectors.json", import.meta.url), "utf8"),
);

// The evaluator's value as the vectors write it: missing (undefined) → null.
function asJson(value) {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(asJson);
  return value;
}

test("there are at least 150 vectors", () => {
  assert.ok(vectors.length >= 150);
});

for (const vector of vectors) {
  test(vector.name, () => {
    const args = Object.prototype.hasOwnProperty.call(vector, "self") ? [vector.self] : [];
    if (vector.error) {
      assert.throws(() => evaluate(vector.expr, vector.answers, ...args), ConditionError);
      return;
    }
    const got = evaluate(vector.expr, vector.answers, ...args);
    assert.deepStrictEqual(asJson(got), vector.expected);
    assert.equal(isTrue(vector.expr, vector.answers, ...args), vector.expected === true);
  });
}

// ${name} in labels and hints, filled on the phone as the server would (mobile_forms/label_vectors.json).
import { fillReferences } from "../../mobile_forms/web/shared/conditions.js";

const labelVectors = JSON.parse(
  readFileSync(new URL("../../mobile_forms/label_vectors.json", import.meta.url), "utf8"),
);

for (const vector of labelVectors) {
  test(`label: ${vector.name}`, () => {
    assert.equal(fillReferences(vector.text, vector.values), vector.expected);
  });
}
