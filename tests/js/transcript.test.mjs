// The browser's transcript reducer (nexus/ui/static/js/chat/store.js) against the event
// sequences in tests/data/transcript_cases.json, the same file the Python reducer is tested
// against (tests/test_transcript_cases.py). Run: node --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ChatStore } from "../../nexus/ui/static/js/chat/store.js";

const { cases } = JSON.parse(readFileSync(new URL("../data/transcript_cases.json", import.meta.url)));

// Expected values may say "<any>" where the reducer stamps a time itself.
function matches(actual, expected, path) {
  if (expected === "<any>") return;
  if (expected === null || typeof expected !== "object") {
    assert.deepEqual(actual, expected, path);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path} is a list`);
    assert.equal(actual.length, expected.length, `${path} has ${expected.length} items`);
    expected.forEach((item, i) => matches(actual[i], item, `${path}[${i}]`));
    return;
  }
  assert.ok(actual && typeof actual === "object", `${path} is an object`);
  for (const [key, value] of Object.entries(expected)) matches(actual[key], value, `${path}.${key}`);
}

for (const c of cases) {
  test(c.name, () => {
    const store = new ChatStore();
    const id = c.start.session.id;
    store.receive({ session: id, type: "snapshot", seq: 0, data: structuredClone(c.start) }, "epoch");
    c.events.forEach((event, i) => {
      const applied = store.receive({ session: id, seq: i + 1, type: event.type, data: structuredClone(event.data) },
        "epoch");
      assert.ok(applied, `event ${i + 1} (${event.type}) applied`);
    });
    const s = store.get(id);
    const got = { session: s.session, status: s.status, permissions: [...s.permissions.values()],
      messages: s.messages };
    for (const key of Object.keys(c.expect)) matches(got[key], c.expect[key], key);
  });
}
